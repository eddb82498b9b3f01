"""Failures are isolated and reported as data, through the real ansible-inventory CLI.

Every case checks the two halves of the contract: every instance of the healthy accounts and
regions is present exactly once, and every failure is reported (one warning on stderr naming the
account id and name, the region and the AWS error code, and one ``crossaccount_errors`` entry).
The fault layer (tests/support/faults.py) injects the failures and counts the calls that reach
the stand-in, which also shows that ``max_attempts`` really reaches botocore's retry handler.
"""

from __future__ import annotations

from collections import Counter

import boto3
import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import ACCOUNTS

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
NAMES = {"222222222222": "development", "333333333333": "testing", "444444444444": "production"}
EXTERNAL_ID = "example-external-id"

# 222222222222 names no regions, so its regions come from DescribeRegions (the others name theirs).
CONFIG = """
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - id: "111111111111"
    regions: {regions}
  - id: "222222222222"
    name: development{regions_222}
  - id: "333333333333"
    name: testing
    external_id: {external_id}
    regions: {regions}
  - id: "444444444444"
    name: production
    regions: {regions}
read_timeout: 6
connect_timeout: 6
{extra}
"""


def config(extra: str = "", discover_222: bool = False) -> str:
    regions = "[" + ", ".join(REGIONS) + "]"
    return CONFIG.format(
        regions=regions,
        regions_222="" if discover_222 else f"\n    regions: {regions}",
        external_id=EXTERNAL_ID,
        extra=extra,
    )


def instance_counts(result) -> Counter:
    return Counter(hv["instance_id"] for hv in result.hostvars.values())


def warning_prefix(account_id: str, region: str | None, code: str) -> str:
    who = account_id + (f" ({NAMES[account_id]})" if account_id in NAMES else "")
    where = f"account {who}" + (f" region {region}" if region else "")
    return f"[WARNING]: crossaccount.aws.ec2: {where}: {code}: "


def crossaccount_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[WARNING]: crossaccount.aws.ec2: account ")]


def calls(faults, action: str, account: str | None = None, region: str | None = None) -> int:
    return sum(
        n
        for (a, acct, reg), n in faults.calls.items()
        if a == action and (account is None or acct == account) and (region is None or reg == region)
    )


@pytest.fixture(scope="module")
def inventories(tmp_path_factory):
    return tmp_path_factory.mktemp("failures")


@pytest.fixture(scope="module")
def baseline(stand_in, fleet, inventories):
    """No fault: every instance, an empty error list (on every host, without --export), and
    strict_errors changes nothing. Also warms every account-region of the stand-in."""
    stand_in.faults.reset()
    path = inventories / "baseline.ec2.yml"
    path.write_text(config("strict_errors: true"))
    result = cli.inventory(str(path), stand_in.endpoint, extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.rc == 0, result.stderr
    return result


def test_no_failure_means_empty_error_list(baseline, fleet):
    assert instance_counts(baseline) == Counter(i["instance_id"] for i in fleet)
    for hv in baseline.hostvars.values():
        assert hv["crossaccount_errors"] == []
        assert hv["crossaccount_stale"] is False
    assert crossaccount_warnings(baseline.stderr) == []


# -- every kind of lasting failure at once, each isolated ------------------------------------------

LASTING = [
    # account-level: the role cannot be assumed (missing role, trust policy or external id)
    Fault(
        code="AccessDenied",
        action="AssumeRole",
        account="333333333333",
        status=403,
        message="User is not authorized to perform: sts:AssumeRole",
    ),
    # account-level: region discovery denied
    Fault(code="UnauthorizedOperation", action="DescribeRegions", account="222222222222", status=403),
    # region-level answers
    Fault(code="AuthFailure", action="DescribeInstances", account="444444444444", region="ap-southeast-2", status=401),
    Fault(
        code="OptInRequired", action="DescribeInstances", account="111111111111", region="ap-southeast-2", status=401
    ),
    Fault(
        code="UnauthorizedOperation", action="DescribeInstances", account="111111111111", region="eu-west-1", status=403
    ),
    # throttled on every attempt
    Fault(code="Throttling", action="DescribeInstances", account="444444444444", region="eu-west-1", status=400),
    # no answer within read_timeout, on every attempt
    Fault(code="-", action="DescribeInstances", account="111111111111", region="us-west-2", delay_s=8, hang_only=True),
    # the connection is closed without an answer, on every attempt
    Fault(code="-", action="DescribeInstances", account="444444444444", region="us-west-2", drop=True),
]
EXPECTED_ERRORS = {
    ("333333333333", None, "AccessDenied"),
    ("222222222222", None, "UnauthorizedOperation"),
    ("444444444444", "ap-southeast-2", "AuthFailure"),
    ("111111111111", "ap-southeast-2", "OptInRequired"),
    ("111111111111", "eu-west-1", "UnauthorizedOperation"),
    ("444444444444", "eu-west-1", "Throttling"),
    ("111111111111", "us-west-2", "ReadTimeout"),
    ("444444444444", "us-west-2", "ConnectionClosed"),
}
MAX_ATTEMPTS = 2


@pytest.fixture(scope="module")
def lasting(stand_in, fleet, baseline, inventories):
    layer = stand_in.faults
    layer.reset()
    layer.set_faults([Fault(**vars(f)) for f in LASTING])
    path = inventories / "lasting.ec2.yml"
    path.write_text(config(f"max_attempts: {MAX_ATTEMPTS}", discover_222=True))
    try:
        result = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
        counted = Counter(layer.calls)
    finally:
        layer.reset()
    assert result.rc == 0, result.stderr
    return result, counted


def _failed(account: str, region: str) -> bool:
    return any(a == account and r in (None, region) for a, r, _ in EXPECTED_ERRORS)


def test_lasting_failures_lose_nothing_else(lasting, fleet):
    result, _ = lasting
    healthy = [i for i in fleet if i["region"] in REGIONS and not _failed(i["account"], i["region"])]
    assert healthy, "the case must leave some healthy instances"
    assert instance_counts(result) == Counter(i["instance_id"] for i in healthy)
    for hv in result.hostvars.values():
        assert hv["crossaccount_stale"] is False


def test_lasting_failures_are_each_one_error_entry(lasting):
    result, _ = lasting
    errors = result.data["all"]["vars"]["crossaccount_errors"]
    assert len(errors) == len(EXPECTED_ERRORS)
    assert {(e["account_id"], e["region"], e["code"]) for e in errors} == EXPECTED_ERRORS
    for e in errors:
        assert set(e) == {"account_id", "account_name", "region", "code", "message", "hint"}
        assert e["account_name"] == NAMES.get(e["account_id"])
        assert e["message"] and e["hint"]


def test_lasting_failures_are_each_one_warning(lasting):
    result, _ = lasting
    warnings = crossaccount_warnings(result.stderr)
    assert len(warnings) == len(EXPECTED_ERRORS)
    for account, region, code in EXPECTED_ERRORS:
        prefix = warning_prefix(account, region, code)
        assert sum(w.startswith(prefix) for w in warnings) == 1, (prefix, warnings)


def test_assume_role_denial_names_principal_role_and_external_id(lasting, stand_in):
    result, counted = lasting
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=stand_in.endpoint,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    principal = sts.get_caller_identity()["Arn"]
    (denied,) = [e for e in result.data["all"]["vars"]["crossaccount_errors"] if e["code"] == "AccessDenied"]
    assert f"{principal} tried sts:AssumeRole on arn:aws:iam::333333333333:role/CMDBDiscovery" in denied["hint"]
    assert "trust policy" in denied["hint"] and "external id" in denied["hint"]
    assert "AssumeRole" in denied["message"]
    (warning,) = [w for w in crossaccount_warnings(result.stderr) if "AccessDenied" in w]
    assert principal in warning and "role/CMDBDiscovery" in warning
    # an account whose role was refused is never scanned
    assert not any(a == "DescribeInstances" and acct == "333333333333" for a, acct, _ in counted)


def test_hints_fit_the_failure(lasting):
    result, _ = lasting
    by_key = {(e["account_id"], e["region"]): e for e in result.data["all"]["vars"]["crossaccount_errors"]}
    assert "ec2:DescribeRegions" in by_key[("222222222222", None)]["hint"]
    assert "opt-in" in by_key[("444444444444", "ap-southeast-2")]["hint"]
    assert "not enabled" in by_key[("111111111111", "ap-southeast-2")]["hint"]
    assert "SCP" in by_key[("111111111111", "eu-west-1")]["hint"]
    assert "max_attempts" in by_key[("444444444444", "eu-west-1")]["hint"]
    assert "read_timeout" in by_key[("111111111111", "us-west-2")]["hint"]
    assert "connectivity" in by_key[("444444444444", "us-west-2")]["hint"]


def test_retries_follow_max_attempts(lasting):
    """botocore retried the retryable failures exactly max_attempts times, the others never."""
    _, counted = lasting

    def di(account: str, region: str) -> int:
        return counted[("DescribeInstances", account, region)]

    assert di("444444444444", "eu-west-1") == MAX_ATTEMPTS  # throttled
    assert di("111111111111", "us-west-2") == MAX_ATTEMPTS  # timed out
    assert di("444444444444", "us-west-2") == MAX_ATTEMPTS  # connection closed
    assert di("444444444444", "ap-southeast-2") == 1  # AuthFailure is not retried
    assert di("111111111111", "eu-west-1") == 1
    assert counted[("DescribeRegions", "222222222222", "us-east-1")] == 1
    assert not any(a == "DescribeInstances" and acct == "222222222222" for a, acct, _ in counted)
    assert sum(n for (a, _, _), n in counted.items() if a == "AssumeRole") == len(ACCOUNTS)


# -- transient failures: retried by botocore, nothing lost, nothing reported ------------------------


@pytest.fixture(scope="module")
def transient(stand_in, fleet, baseline, inventories):
    layer = stand_in.faults
    layer.reset()
    layer.set_faults(
        [
            # two read timeouts, then answers (rules are tried in order: these fire first)
            Fault(
                code="-",
                action="DescribeInstances",
                account="444444444444",
                region="us-east-1",
                delay_s=8,
                hang_only=True,
                count=2,
            ),
            # two dropped connections, then answers
            Fault(code="-", action="DescribeInstances", account="222222222222", region="eu-west-1", drop=True, count=2),
            # STS throttles one AssumeRole
            Fault(code="Throttling", action="AssumeRole", account="111111111111", status=400, count=1),
            # 30 % of all DescribeInstances calls throttled
            Fault(code="RequestLimitExceeded", action="DescribeInstances", rate=0.3, status=503),
        ]
    )
    path = inventories / "transient.ec2.yml"
    path.write_text(config())
    try:
        result = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
        counted, injected = Counter(layer.calls), Counter(layer.injected)
    finally:
        layer.reset()
    assert result.rc == 0, result.stderr
    return result, counted, injected


def test_transient_failures_lose_nothing(transient, fleet):
    result, counted, injected = transient
    assert instance_counts(result) == Counter(i["instance_id"] for i in fleet)
    assert result.data["all"]["vars"]["crossaccount_errors"] == []
    assert crossaccount_warnings(result.stderr) == []
    # the faults really happened
    throttled = sum(n for (code, *_), n in injected.items() if code == "RequestLimitExceeded")
    assert throttled > 0
    assert counted[("DescribeInstances", "444444444444", "us-east-1")] >= 3
    assert counted[("DescribeInstances", "222222222222", "eu-west-1")] >= 3
    assert calls_for(counted, "AssumeRole", "111111111111") == 2
    assert calls_for(counted, "AssumeRole", "222222222222") == 1


def calls_for(counted: Counter, action: str, account: str) -> int:
    return sum(n for (a, acct, _), n in counted.items() if a == action and acct == account)


# -- strict_errors ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def strict_runs(stand_in, fleet, baseline, inventories):
    layer = stand_in.faults
    layer.reset()
    path = inventories / "strict.ec2.yml"
    path.write_text(config("strict_errors: true"))
    faults = [
        Fault(code="AccessDenied", action="AssumeRole", account="333333333333", status=403),
        Fault(code="AuthFailure", action="DescribeInstances", account="444444444444", region="eu-west-1", status=401),
    ]
    results = {}
    try:
        for flag in ("true", "false"):
            layer.set_faults([Fault(**vars(f)) for f in faults])
            env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": flag}
            results[flag] = cli.inventory(str(path), stand_in.endpoint, extra_env=env)
    finally:
        layer.reset()
    return results


def test_strict_errors_fail_the_run_with_every_failure(strict_runs):
    result = strict_runs["true"]
    assert result.rc != 0
    assert "strict_errors is on and 2 scan(s) failed" in result.stderr
    assert "account 333333333333 (testing): AccessDenied" in result.stderr
    assert "account 444444444444 (production) region eu-west-1: AuthFailure" in result.stderr
    assert "Completely failed to parse inventory source" in result.stderr
    assert "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true (" not in result.stderr
    assert "Traceback" not in result.stderr


def test_strict_errors_without_any_unparsed_is_failed(strict_runs):
    """ansible-core's own behaviour, documented in docs/reliability.md: the failed source is
    dropped (no hosts at all), the exit code is 0, and the plugin says which setting to use."""
    result = strict_runs["false"]
    assert result.rc == 0
    assert "strict_errors is on and 2 scan(s) failed" in result.stderr
    assert "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true" in result.stderr
    assert result.hostvars == {}
