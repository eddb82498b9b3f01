"""The inventory cache can be damaged but never damages a run (issue 10 §5), through the real
ansible-inventory CLI with ansible-core's jsonfile cache plugin.

* A cache entry torn or garbled in any way (cut short, undecodable bytes, wrong types, a value
  ansible-core's own decoder raises on, a directory in its place) is ignored with one warning, the
  scan runs, and the cache files of other inventory sources sharing the cache_connection keep
  their stale-if-error data. One torn account-region entry costs only that entry.
* Tag keys and values that look like ansible-core's JSON markers round-trip exactly through the
  cache (a cached rerun, stale data after a failure) and the CMDB export.
* A region removed from the configuration is not kept alive as stale data by a failure.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import Planned, seed

SHARED = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: [{accounts}]
regions: [us-east-1, eu-west-1]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache_dir}
cache_timeout: 604800
"""
A_ACCOUNTS = ("111111111111", "222222222222")  # source A; 222222222222 fails in the damage runs
B_ACCOUNTS = ("333333333333",)  # source B, same cache directory
OUR_CACHE_WARNING = "[WARNING]: crossaccount.aws.ec2: the inventory cache entry of"


def _config(accounts, cache_dir) -> str:
    return SHARED.format(accounts=", ".join(f'"{a}"' for a in accounts), cache_dir=cache_dir)


def _cache_files(cache_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache_dir.iterdir()) if not p.name.startswith(".")}


def _instances(result) -> dict[str, dict]:
    return {hv["instance_id"]: hv for hv in result.hostvars.values()}


def _cache_warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(OUR_CACHE_WARNING)]


def _deny(account: str) -> Fault:
    return Fault(code="AccessDenied", action="AssumeRole", account=account, status=403)


@pytest.fixture(scope="module")
def shared_cache(stand_in, fleet, tmp_path_factory):
    """Sources A and B, one cache directory, both cached by a healthy first run."""
    work = tmp_path_factory.mktemp("cache-damage")
    cache_dir = work / "cache"
    a, b = work / "a.ec2.yml", work / "b.ec2.yml"
    a.write_text(_config(A_ACCOUNTS, cache_dir))
    b.write_text(_config(B_ACCOUNTS, cache_dir))
    stand_in.faults.reset()
    first_b = cli.inventory(str(b), stand_in.endpoint, "--list")
    assert first_b.rc == 0, first_b.stderr
    b_files = _cache_files(cache_dir)
    first_a = cli.inventory(str(a), stand_in.endpoint, "--list")
    assert first_a.rc == 0, first_a.stderr
    files = _cache_files(cache_dir)
    assert len(b_files) == 1 and len(files) == 2
    (b_name,) = b_files
    (a_name,) = set(files) - {b_name}
    return {
        "a": str(a),
        "b": str(b),
        "cache_dir": cache_dir,
        "a_name": a_name,
        "b_name": b_name,
        "good_a": files[a_name],
        "good_b": files[b_name],
        "first_a": _instances(first_a),
        "first_b": _instances(first_b),
    }


def _payload(stored: bytes) -> dict:
    outer = json.loads(stored)
    return json.loads(outer["__payload__"]) if "__payload__" in outer else outer  # 2.19+ wraps it


def _wrap(payload: dict, like: bytes) -> bytes:
    return json.dumps({"__payload__": json.dumps(payload)} if "__payload__" in json.loads(like) else payload).encode()


def _damage_one_entry(good: bytes) -> bytes:
    """The 222222222222/us-east-1 entry of source A cut in half; every other entry intact."""
    payload = _payload(good)
    entries = payload["entries"]
    (i,) = [n for n, e in enumerate(entries) if '"222222222222"' in e and '"us-east-1"' in e]
    entries[i] = entries[i][: len(entries[i]) // 2]
    return _wrap(payload, good)


DAMAGE = {
    "truncated": lambda good: good[: len(good) // 2],
    "empty-file": lambda good: b"",
    "undecodable-bytes": lambda good: b"\xff\xfe\x00" + good[3:],
    "not-a-mapping": lambda good: b"[1, 2, 3]",
    "empty-mapping": lambda good: b"{}",
    "payload-not-text": lambda good: b'{"__payload__": 5}',
    "payload-torn": lambda good: json.dumps({"__payload__": json.loads(good)["__payload__"][:-40]}).encode(),
    "wrong-types": lambda good: _wrap({**_payload(good), "entries": {"a": 1}, "fingerprint": 7}, good),
    "core-marker": lambda good: _wrap({"__ansible_type": "NoSuchType", "value": "x"}, good),
    "core-marker-in-entry": lambda good: _wrap(
        {**_payload(good), "entries": [{"__ansible_type": "Origin", "path": "/etc/passwd"}]}, good
    ),
    "directory": None,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_entry_is_ignored_with_one_warning_and_spares_the_others(shared_cache, stand_in, damage):
    cache_dir = shared_cache["cache_dir"]
    a_file = cache_dir / shared_cache["a_name"]
    b_file = cache_dir / shared_cache["b_name"]
    b_file.write_bytes(shared_cache["good_b"])
    if a_file.is_dir():
        shutil.rmtree(a_file)
    if damage == "directory":
        a_file.unlink(missing_ok=True)
        a_file.mkdir()
        (a_file / "junk").write_text("x")
    else:
        a_file.write_bytes(DAMAGE[damage](shared_cache["good_a"]))

    stand_in.faults.reset()
    stand_in.faults.set_faults([_deny("222222222222")])
    try:
        result = cli.inventory(shared_cache["a"], stand_in.endpoint, "--list", "--export", "--flush-cache")
    finally:
        stand_in.faults.reset()
    assert result.rc == 0, result.stderr
    assert len(_cache_warnings(result)) == 1, result.stderr
    hosts = _instances(result)
    fresh = {i for i, hv in shared_cache["first_a"].items() if hv["account_id"] == "111111111111"}
    assert {i for i, hv in hosts.items() if not hv["crossaccount_stale"]} == fresh, "the scan ran"
    errors = result.data["all"]["vars"]["crossaccount_errors"]
    assert [(e["account_id"], e["code"]) for e in errors] == [("222222222222", "AccessDenied")]
    assert (cache_dir / shared_cache["b_name"]).read_bytes() == shared_cache["good_b"], "other sources untouched"
    if damage != "directory":  # the entry is written again, readable
        assert a_file.is_file() and _payload(a_file.read_bytes())["entries"]

    if a_file.is_dir():
        shutil.rmtree(a_file)


def test_other_source_sharing_the_cache_keeps_its_stale_data(shared_cache, stand_in):
    """After all those damaged runs of source A, source B (same cache_connection) still has its
    stale-if-error data: its account fails and its hosts are kept, marked stale."""
    stand_in.faults.reset()
    stand_in.faults.set_faults([_deny("333333333333")])
    try:
        other = cli.inventory(shared_cache["b"], stand_in.endpoint, "--list", "--flush-cache")
    finally:
        stand_in.faults.reset()
    assert other.rc == 0, other.stderr
    assert not _cache_warnings(other)
    kept = _instances(other)
    assert set(kept) == set(shared_cache["first_b"]) and kept
    assert all(hv["crossaccount_stale"] for hv in kept.values())


def test_one_torn_entry_costs_only_that_entry(shared_cache, stand_in):
    """222222222222/us-east-1 is torn, 222222222222/eu-west-1 is not: when the account fails, the
    readable entry's hosts are kept stale, the torn one's are not invented."""
    a_file = shared_cache["cache_dir"] / shared_cache["a_name"]
    if a_file.is_dir():
        shutil.rmtree(a_file)
    a_file.write_bytes(_damage_one_entry(shared_cache["good_a"]))
    stand_in.faults.reset()
    stand_in.faults.set_faults([_deny("222222222222")])
    try:
        result = cli.inventory(shared_cache["a"], stand_in.endpoint, "--list", "--flush-cache")
    finally:
        stand_in.faults.reset()
    assert result.rc == 0, result.stderr
    (warning,) = _cache_warnings(result)
    assert "1 of 4 account-region entries cannot be read" in warning
    hosts = _instances(result)
    first = shared_cache["first_a"]
    stale = {i for i, hv in hosts.items() if hv["crossaccount_stale"]}
    assert stale == {i for i, hv in first.items() if hv["account_id"] == "222222222222" and hv["region"] == "eu-west-1"}
    assert stale, "the readable entry keeps its hosts"
    assert "kept 1 host(s)" in result.stderr
    a_file.write_bytes(shared_cache["good_a"])


# ---------------------------------------------------------------------------------------------
# tags that look like ansible-core's JSON markers

MARKER_ACCOUNT = "707070707070"
MARKER_TAGS = [
    # would come back from ansible-core's cache decoder as an Origin object, silently
    {"__ansible_type": "Origin", "path": "/etc/passwd"},
    # would make the decoder raise on every later run, --flush-cache included
    {"Name": "marker-raise", "__ansible_type": "NoSuchType"},
    {
        "Name": "marker-legacy",
        "__ansible_unsafe": "{{ lookup('pipe', 'id') }}",
        "__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256",
        "__payload__": '{"__ansible_type": "Origin"}',
        "Owner": '{"__ansible_type": "_AnsibleTaggedStr", "value": "x", "tags": []}',
    },
    {"Name": "__ansible_type", "__ansible_": "__ansible_unsafe", "__ansible_type ": "=1+1"},
]


@pytest.fixture(scope="module")
def marker_runs(stand_in, tmp_path_factory):
    created = seed(stand_in.endpoint, [Planned(MARKER_ACCOUNT, "us-east-1", None, tags) for tags in MARKER_TAGS])
    work = tmp_path_factory.mktemp("markers")
    path = work / "markers.ec2.yml"
    path.write_text(
        f'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["{MARKER_ACCOUNT}"]\n'
        f"regions: [us-east-1]\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
        f"cache_connection: {work / 'cache'}\ncache_timeout: 604800\n"
    )
    out = work / "out"
    out.mkdir()
    layer = stand_in.faults
    layer.reset()
    runs = {"created": created, "out": out}
    try:
        runs["first"] = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
        layer.reset()
        runs["cached"] = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
        runs["cached_calls"] = sum(layer.calls.values())
        runs["export"] = _export(str(path), stand_in.endpoint, out)
        layer.set_faults([_deny(MARKER_ACCOUNT)])
        runs["stale"] = cli.inventory(str(path), stand_in.endpoint, "--list", "--export", "--flush-cache")
        layer.reset()
        runs["again"] = cli.inventory(str(path), stand_in.endpoint, "--list", "--export", "--flush-cache")
    finally:
        layer.reset()
    return runs


def _export(inventory: str, endpoint: str, out) -> cli.Result:
    tag_columns = '{"cmdb_export_tag_columns": ["__ansible_type", "__ansible_unsafe", "Owner"]}'
    return cli.export(inventory, endpoint, out, "-e", tag_columns)


def _expected_tags(runs) -> dict[str, dict]:
    return {c["instance_id"]: MARKER_TAGS[n] for n, c in enumerate(runs["created"])}


def _tags(result) -> dict[str, dict]:
    # read the raw output: the tag maps here are never the 1-key {"__ansible_unsafe": ...} wrapper
    out = {}
    for hv in result.raw["_meta"]["hostvars"].values():
        instance_id = cli.unwrap(hv["instance_id"])
        out[instance_id] = {k: cli.unwrap(v) for k, v in hv["ec2_tags"].items()}
    return out


@pytest.mark.parametrize("run", ["first", "cached", "again"])
def test_marker_tags_round_trip_through_the_cache(marker_runs, run):
    result = marker_runs[run]
    assert result.rc == 0, result.stderr
    assert _tags(result) == _expected_tags(marker_runs)
    assert all(hv["crossaccount_stale"] is False for hv in result.hostvars.values())


def test_cached_rerun_with_marker_tags_is_served_from_the_cache(marker_runs):
    assert marker_runs["cached_calls"] == 0, "the rerun was served from the cache"
    assert marker_runs["cached"].raw == marker_runs["first"].raw


def test_marker_tags_survive_as_stale_data(marker_runs):
    result = marker_runs["stale"]
    assert result.rc == 0, result.stderr
    assert _tags(result) == _expected_tags(marker_runs)
    assert all(hv["crossaccount_stale"] is True for hv in result.hostvars.values())
    assert f"kept {len(MARKER_TAGS)} host(s)" in result.stderr


def test_marker_tags_round_trip_through_the_export(marker_runs):
    result = marker_runs["export"]
    assert result.rc == 0, result.stdout + result.stderr
    out = marker_runs["out"]
    doc = json.loads((out / "cmdb.json").read_text())
    expected = _expected_tags(marker_runs)
    assert {row["instance_id"]: row["tags"] for row in doc["instances"]} == expected
    rows = list(csv.DictReader(io.StringIO((out / "cmdb.csv").read_text())))
    for row in rows:
        tags = expected[row["instance_id"]]
        assert row["tag___ansible_type"] == tags.get("__ansible_type", "")
        assert row["tag___ansible_unsafe"] == tags.get("__ansible_unsafe", "")
        assert row["tag_Owner"] == tags.get("Owner", "")
        assert row["name"] == tags.get("Name", "")


# ---------------------------------------------------------------------------------------------
# a region removed from the configuration

SCOPE_ACCOUNT = "717171717171"


def test_region_removed_from_the_configuration_is_not_kept_stale(stand_in, tmp_path):
    created = seed(
        stand_in.endpoint,
        [Planned(SCOPE_ACCOUNT, "us-east-1", "kept-region"), Planned(SCOPE_ACCOUNT, "eu-west-1", "dropped-region")],
    )
    path = tmp_path / "scope.ec2.yml"
    text = (
        f'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["{SCOPE_ACCOUNT}"]\n'
        f"regions: {{regions}}\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
        f"cache_connection: {tmp_path / 'cache'}\n"
    )
    path.write_text(text.format(regions="[us-east-1, eu-west-1]"))
    stand_in.faults.reset()
    first = cli.inventory(str(path), stand_in.endpoint, "--list")
    assert first.rc == 0, first.stderr
    assert set(_instances(first)) == {c["instance_id"] for c in created}

    path.write_text(text.format(regions="[us-east-1]"))
    stand_in.faults.set_faults([_deny(SCOPE_ACCOUNT)])
    try:
        second = cli.inventory(str(path), stand_in.endpoint, "--list")
    finally:
        stand_in.faults.reset()
    assert second.rc == 0, second.stderr
    hosts = _instances(second)
    kept = next(c["instance_id"] for c in created if c["name"] == "kept-region")
    assert set(hosts) == {kept}, "only regions still configured are carried over"
    assert hosts[kept]["crossaccount_stale"] is True
    assert "kept 1 host(s)" in second.stderr
