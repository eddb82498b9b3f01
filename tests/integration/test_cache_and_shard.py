"""Scale-out through the real ansible-inventory CLI: `shard: k/n` sources together list every instance
exactly once, and the inventory cache (any ansible-core cache plugin) serves a rerun with no AWS call."""

from __future__ import annotations

import json

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.config import shard_of
from tests.support import cli
from tests.support.fleet import ACCOUNTS
from tests.support.inventories import example_inventory


def _write(path, shard: str, extra: str = "") -> str:
    path.write_text(example_inventory(f'shard: "{shard}"\n{extra}'))
    return str(path)


def _instances(result) -> list[str]:
    return sorted(hv["instance_id"] for hv in result.hostvars.values())


def _assumed(faults) -> set[str]:
    return {account for (action, account, _), n in faults.calls.items() if action == "AssumeRole" and n}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("inventory-cache")


@pytest.fixture(scope="module")
def shard_runs(stand_in, fleet, tmp_path_factory, cache_dir):
    """Shard 1/2 with the jsonfile cache, shard 2/2 with the memory cache plugin; AWS calls of each."""
    base = tmp_path_factory.mktemp("shards")
    faults = stand_in.faults
    runs = {}
    for k, extra in (
        (1, f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache_dir}\n"),
        (2, "cache: true\ncache_plugin: ansible.builtin.memory\n"),
    ):
        faults.reset()
        path = _write(base / f"shard{k}.ec2.yml", f"{k}/2", extra)
        result = cli.inventory(path, stand_in.endpoint, "--list")
        assert result.rc == 0, result.stderr
        runs[k] = (path, result, _assumed(faults))
    faults.reset()
    return runs


def test_two_shards_list_every_instance_exactly_once(shard_runs, fleet):
    one, two = shard_runs[1][1], shard_runs[2][1]
    first, second = _instances(one), _instances(two)
    assert first and second, "the Example Corp accounts fall in both shards"
    assert not set(first) & set(second), "no instance in both shards"
    assert sorted(first + second) == sorted(i["instance_id"] for i in fleet), "no instance missing"
    for k, result in ((1, one), (2, two)):
        expected_accounts = {a for a in ACCOUNTS if shard_of(a, 2) == k}
        assert {hv["account_id"] for hv in result.hostvars.values()} == expected_accounts
        assert shard_runs[k][2] == expected_accounts, "only the shard's accounts are called"
        assert result.all_vars["crossaccount_errors"] == []


def test_cached_rerun_serves_the_same_inventory_with_no_aws_call(shard_runs, stand_in, faults, cache_dir):
    path, first, _ = shard_runs[1]
    cached_files = [p for p in cache_dir.iterdir() if p.is_file()]
    assert len(cached_files) == 1, "the jsonfile cache plugin wrote the snapshot"
    stored = json.loads(cached_files[0].read_text())
    snapshot = json.loads(stored["__payload__"]) if "__payload__" in stored else stored  # 2.19+ wraps it
    assert snapshot["entries"], "the cache holds the scanned account-regions"

    faults.reset()
    again = cli.inventory(path, stand_in.endpoint, "--list")
    assert again.rc == 0, again.stderr
    assert sum(faults.calls.values()) == 0, f"AWS was called on a cached rerun: {dict(faults.calls)}"
    assert again.raw == first.raw, "the cached rerun serves exactly the same inventory"

    flushed = cli.inventory(path, stand_in.endpoint, "--list", "--flush-cache")
    assert flushed.rc == 0, flushed.stderr
    assert _assumed(faults) == {a for a in ACCOUNTS if shard_of(a, 2) == 1}, "--flush-cache scans again"
    assert _instances(flushed) == _instances(first)


def test_changing_the_shard_of_a_cached_source_is_not_served_from_the_cache(shard_runs, stand_in, faults):
    """The cache key is the file path: a source whose shard changed must not get the old shard's hosts."""
    path, first, _ = shard_runs[1]
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace('shard: "1/2"', 'shard: "2/2"'))
    faults.reset()
    moved = cli.inventory(path, stand_in.endpoint, "--list")
    assert moved.rc == 0, moved.stderr
    assert _instances(moved) == _instances(shard_runs[2][1])
    assert not set(_instances(moved)) & set(_instances(first))


def test_failures_of_several_sources_in_one_run_add_up(stand_in, fleet, tmp_path, faults):
    """Two shard sources parsed in one ansible-inventory run: crossaccount_errors on group all holds
    the failures of both, not only those of the source parsed last."""
    from tests.support.faults import Fault

    first = {1: None, 2: None}
    for account in sorted(ACCOUNTS):
        k = shard_of(account, 2)
        first[k] = first[k] or account
    assert all(first.values()), "the Example Corp accounts fall into both shards"
    faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account=a, status=403) for a in first.values()])
    paths = [_write(tmp_path / f"s{k}.ec2.yml", f"{k}/2") for k in (1, 2)]
    result = cli.inventory(paths[0], stand_in.endpoint, "-i", paths[1], "--list", "--export")
    assert result.rc == 0, result.stderr
    errors = result.data["all"]["vars"]["crossaccount_errors"]
    assert sorted(e["account_id"] for e in errors) == sorted(first.values())
    assert all(e["code"] == "AccessDenied" and e["region"] is None for e in errors)
    healthy = {i["instance_id"] for i in fleet if i["account"] not in first.values()}
    assert set(_instances(result)) == healthy
