"""Credentials never mix on shared clients: every request is signed as its own account.

One EC2 client per region serves every account (clients.py, botocore_speedups.py); each request
is signed with the credentials the calling thread bound. The stand-in (tests/support/fast_aws.py)
answers every DescribeInstances with the instances of the account whose key signed it, and its
owner id; a request whose key and session token come from two accounts is refused and counted. So
a host whose ``owner_id`` differs from its ``account_id``, a missing or duplicated instance, or a
mismatch count above zero is a request signed with the wrong account's credentials.

The run is made hard on purpose: 64 workers, 30 accounts x 17 regions, two pages per region,
every 7th DescribeInstances throttled (botocore retries it: the retry is signed again), and role
credentials that live 301 s against refresh windows of 300/150 s (duration_seconds 900), so every
account's credentials refresh about every second, in the middle of the scan.
"""

from __future__ import annotations

import threading

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_speedups
from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import scan
from tests.support.cli import inventory
from tests.support.fast_aws import FastAws
from tests.support.faults import AWS_ENABLED_REGIONS
from tests.support.settings import aws_context, scan_settings
from tests.support.stand_in import point_environment_at

REGIONS = AWS_ENABLED_REGIONS[:17]


def _accounts(n: int, first: int = 710000000001) -> list[str]:
    return [str(first + i) for i in range(n)]


@pytest.fixture
def hard_stand_in():
    server = FastAws(
        latency_ms=5,
        regions=REGIONS,
        instances_per_account=34,  # 2 per region
        page_size=1,  # 2 pages per account-region
        expiration_seconds=301,
        throttle_every=7,
    ).start()
    yield server
    server.stop()


@pytest.fixture
def fast_environment(hard_stand_in, monkeypatch):
    point_environment_at(monkeypatch, hard_stand_in.endpoint)
    return hard_stand_in


def _check(server: FastAws, accounts: list[str], hosts: dict) -> None:
    wrong = {h: (v["account_id"], v["owner_id"]) for h, v in hosts.items() if v["owner_id"] != v["account_id"]}
    assert not wrong, f"hosts listed under another account than the one that owns them: {list(wrong.items())[:5]}"
    listed = sorted((v["account_id"], v["instance_id"], v["region"]) for v in hosts.values())
    expected = sorted((a, iid, region) for a in accounts for iid, region in server.expected_instances(a).items())
    assert listed == expected
    assert server.mismatches == 0 and server.expired == 0
    assert server.throttled > 0, "no retry was exercised"
    assume_roles = sum(n for (action, _), n in server.calls.items() if action == "AssumeRole")
    assert assume_roles > len(accounts), "no credentials refreshed during the scan"


@pytest.mark.parametrize("processes", [1, 2], ids=["one process", "two processes"])
def test_every_host_is_listed_under_the_account_that_signed_for_it(hard_stand_in, write_inventory, processes):
    accounts = _accounts(30)
    path = write_inventory(
        "plugin: crossaccount.aws.ec2\nrole_name: Reader\nmax_workers: 64\nduration_seconds: 900\n"
        f"scan_processes: {processes}\n"
        "hostnames: [instance-id]\naccounts:\n" + "".join(f'  - id: "{a}"\n' for a in accounts)
    )
    result = inventory(
        path, hard_stand_in.endpoint, "--list", "-v", extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    )
    assert result.rc == 0, result.stderr[-3000:]
    assert ("scanning 30 accounts in 2 processes" in result.stdout) is (processes == 2)
    hosts = result.hostvars
    assert not next(iter(hosts.values()))["crossaccount_errors"]
    _check(hard_stand_in, accounts, hosts)


@pytest.mark.parametrize("share", [True, False], ids=["shared clients", "client per account-region"])
def test_engine_under_concurrency_and_refresh(fast_environment, share):
    accounts = _accounts(16, first=720000000001)
    settings = scan_settings(max_workers=64)
    ctx = aws_context(max_pool_connections=64, duration_seconds=900, share_clients=share)
    result = scan(ctx, settings, [Account(id=a, role_arn=f"arn:aws:iam::{a}:role/Reader") for a in accounts])
    assert not result.failures
    assert ctx.clients.shares_clients is share
    hosts = {r["instance_id"]: r for region in result.regions for r in region.records}
    _check(fast_environment, accounts, hosts)
    # one client per region, warmed or not (the warm-up made them while AssumeRole was in flight)
    assert sorted(ctx.clients._shared) == (sorted(("ec2", r) for r in REGIONS) if share else [])


def test_a_shared_client_refuses_to_sign_outside_acting_as(fast_environment):
    ctx = aws_context()
    credentials = ctx.role_credentials("arn:aws:iam::730000000001:role/Reader")
    with ctx.acting_as(credentials, "ec2", "eu-west-1") as client:
        assert client.describe_regions()["Regions"]
    assert ctx.clients.shares_clients
    with pytest.raises(botocore_speedups.UnboundCredentialsError):
        client.describe_regions()
    assert fast_environment.calls["DescribeRegions", "730000000001"] == 1


def test_bindings_are_per_thread_and_nest(fast_environment):
    ctx = aws_context()
    a = ctx.role_credentials("arn:aws:iam::740000000001:role/Reader")
    b = ctx.role_credentials("arn:aws:iam::740000000002:role/Reader")
    seen: dict[str, set] = {"a": set(), "b": set()}
    barrier = threading.Barrier(2)

    def work(name: str, credentials) -> None:
        with ctx.acting_as(credentials, "ec2", "us-east-1") as client:
            barrier.wait()
            for _ in range(5):
                page = client.describe_instances()
                seen[name].update(r["OwnerId"] for r in page["Reservations"])

    threads = [threading.Thread(target=work, args=("a", a)), threading.Thread(target=work, args=("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": {"740000000001"}, "b": {"740000000002"}}
    with ctx.acting_as(a, "ec2", "us-east-1") as client:
        with ctx.acting_as(b, "ec2", "us-east-1") as inner:
            assert inner is client
            assert {r["OwnerId"] for r in inner.describe_instances()["Reservations"]} == {"740000000002"}
        assert {r["OwnerId"] for r in client.describe_instances()["Reservations"]} == {"740000000001"}


def test_accounts_that_use_up_their_retries_leave_the_others_theirs(monkeypatch):
    """botocore's standard retry mode gives a client a retry quota (500 units, 5 per retry); on a
    client shared by every account of a region it must be kept per account: twelve accounts
    throttled on every attempt (9 retries each, 540 units) must not leave the next account's one
    throttled call without a retry, as with a client per account-region."""
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    throttled = _accounts(12, first=750000000001)
    good = "750000000099"
    server = FastAws(regions=REGIONS[:1], instances_per_account=2, throttle_accounts={a: 10_000 for a in throttled})
    server.start()
    try:
        point_environment_at(monkeypatch, server.endpoint)
        ctx = aws_context(max_attempts=10)
        settings = scan_settings(max_workers=4, regions=(REGIONS[0],))
        first = scan(ctx, settings, [Account(id=a, role_arn=f"arn:aws:iam::{a}:role/Reader") for a in throttled])
        assert {(f.account_id, f.code) for f in first.failures} == {(a, "RequestLimitExceeded") for a in throttled}
        assert sum(n for (action, _), n in server.calls.items() if action == "DescribeInstances") == 12 * 10
        server.throttle_accounts[good] = 1  # one throttle: botocore retries it
        second = scan(ctx, settings, [Account(id=good, role_arn=f"arn:aws:iam::{good}:role/Reader")])
        assert not second.failures, second.failures
        assert len(second.regions[0].records) == 2
        assert ctx.clients.shares_clients and len(ctx.clients._shared) == 1  # the same shared client
    finally:
        server.stop()
