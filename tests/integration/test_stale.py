"""Stale-if-error through the real ansible-inventory CLI, with the jsonfile inventory cache.

Run 1 scans everything and fills the cache. Run 2 (--flush-cache) meets a refused role in one
account and a failing region in another: their hosts stay, marked stale with the time of the
data, the failures are still reported, and an instance terminated in a healthy region is gone
(a gap is told from a deletion). Run 3 (--flush-cache, all healthy) is fresh again.
The module seeds its own accounts, so terminating an instance touches no other test's fleet.
"""

from __future__ import annotations

from collections import Counter

import boto3
import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import Planned, seed

DENIED = "555555555555"  # its role is refused in run 2
PARTLY = "666666666666"  # eu-west-1 fails in run 2; us-east-1 loses an instance on purpose
FAILED_REGION = "eu-west-1"

CONFIG = """
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - id: "{denied}"
    name: sandbox
  - "{partly}"
regions: [us-east-1, eu-west-1]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache_dir}
cache_timeout: 604800
"""


def by_instance(result) -> dict[str, dict]:
    counts = Counter(hv["instance_id"] for hv in result.hostvars.values())
    assert all(n == 1 for n in counts.values()), counts
    return {hv["instance_id"]: hv for hv in result.hostvars.values()}


@pytest.fixture(scope="module")
def runs(stand_in, tmp_path_factory):
    plan = [
        Planned(DENIED, "us-east-1", "sandbox-a"),
        Planned(DENIED, "eu-west-1", "sandbox-b"),
        Planned(PARTLY, "us-east-1", "keep"),
        Planned(PARTLY, "us-east-1", "doomed"),
        Planned(PARTLY, FAILED_REGION, "far-1"),
        Planned(PARTLY, FAILED_REGION, "far-2"),
    ]
    created = seed(stand_in.endpoint, plan)
    work = tmp_path_factory.mktemp("stale")
    path = work / "stale.ec2.yml"
    path.write_text(CONFIG.format(denied=DENIED, partly=PARTLY, cache_dir=work / "cache"))
    layer = stand_in.faults
    layer.reset()
    try:
        first = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
        assert first.rc == 0, first.stderr

        doomed = next(c for c in created if c["name"] == "doomed")
        _terminate(stand_in.endpoint, doomed)
        layer.reset()
        layer.set_faults(
            [
                Fault(code="AccessDenied", action="AssumeRole", account=DENIED, status=403),
                Fault(code="AuthFailure", action="DescribeInstances", account=PARTLY, region=FAILED_REGION, status=401),
            ]
        )
        second = cli.inventory(str(path), stand_in.endpoint, "--list", "--export", "--flush-cache")
        assert second.rc == 0, second.stderr
        second_calls = Counter(layer.calls)

        layer.reset()
        third = cli.inventory(str(path), stand_in.endpoint, "--list", "--export", "--flush-cache")
        assert third.rc == 0, third.stderr
    finally:
        layer.reset()
    return {"created": created, "first": first, "second": second, "third": third, "second_calls": second_calls}


def _terminate(endpoint: str, instance: dict) -> None:
    keys = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "not-checked-by-the-stand-in"}
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint, **keys)
    arn = f"arn:aws:iam::{instance['account']}:role/Terminator"
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="terminate")["Credentials"]
    ec2 = boto3.client(
        "ec2",
        region_name=instance["region"],
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    ec2.terminate_instances(InstanceIds=[instance["instance_id"]])


def _is_failed(instance: dict) -> bool:
    return instance["account"] == DENIED or (instance["account"] == PARTLY and instance["region"] == FAILED_REGION)


def test_first_run_is_fresh_and_complete(runs):
    hosts = by_instance(runs["first"])
    assert set(hosts) == {c["instance_id"] for c in runs["created"]}
    assert all(hv["crossaccount_stale"] is False for hv in hosts.values())
    assert runs["first"].data["all"]["vars"]["crossaccount_errors"] == []


def test_failed_scans_keep_their_hosts_marked_stale(runs):
    before = by_instance(runs["first"])
    after = by_instance(runs["second"])
    for inst in runs["created"]:
        iid = inst["instance_id"]
        if inst["name"] == "doomed":
            assert iid not in after, "an instance terminated in a healthy region must disappear"
        elif _is_failed(inst):
            assert after[iid]["crossaccount_stale"] is True
            assert after[iid]["crossaccount_scanned_at"] == before[iid]["crossaccount_scanned_at"]
            assert after[iid]["ec2_tags"]["Name"] == inst["name"]
        else:
            assert after[iid]["crossaccount_stale"] is False
            assert after[iid]["crossaccount_scanned_at"] >= before[iid]["crossaccount_scanned_at"]
    # the stale hosts were not scanned in run 2: they come from the cache
    assert not any(a == "DescribeInstances" and acct == DENIED for a, acct, _ in runs["second_calls"])


def test_failures_still_reported_with_the_stale_hosts(runs):
    result = runs["second"]
    errors = result.data["all"]["vars"]["crossaccount_errors"]
    assert {(e["account_id"], e["region"], e["code"]) for e in errors} == {
        (DENIED, None, "AccessDenied"),
        (PARTLY, FAILED_REGION, "AuthFailure"),
    }
    kept_denied = sum(1 for c in runs["created"] if c["account"] == DENIED)
    kept_region = sum(1 for c in runs["created"] if c["account"] == PARTLY and c["region"] == FAILED_REGION)
    warnings = [w for w in result.stderr.splitlines() if w.startswith("[WARNING]: crossaccount.aws.ec2: account ")]
    assert len(warnings) == 2
    (denied,) = [w for w in warnings if w.startswith(f"[WARNING]: crossaccount.aws.ec2: account {DENIED} (sandbox)")]
    assert f"kept {kept_denied} host(s)" in denied and "crossaccount_stale" in denied
    (region,) = [w for w in warnings if f"account {PARTLY} region {FAILED_REGION}: AuthFailure" in w]
    assert f"kept {kept_region} host(s)" in region


def test_recovery_makes_everything_fresh_again(runs):
    hosts = by_instance(runs["third"])
    alive = {c["instance_id"] for c in runs["created"] if c["name"] != "doomed"}
    assert set(hosts) == alive
    assert all(hv["crossaccount_stale"] is False for hv in hosts.values())
    assert runs["third"].data["all"]["vars"]["crossaccount_errors"] == []
    assert "kept" not in runs["third"].stderr
