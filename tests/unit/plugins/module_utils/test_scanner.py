"""The scan engine with a fake AWS context: pagination that fails half way, duplicates across
pages, account-level failures, DescribeRegions once per account. (The real thing runs through
the CLI against moto in tests/integration; moto pages by reservation, so a failure on a later
page is only practical to provoke here.)"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import ENABLED_BY_DEFAULT
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import (
    SCAN_SWITCH_INTERVAL,
    scan,
    switch_interval,
    warm_up_regions,
)
from tests.support.settings import settings_from

PRINCIPAL = "arn:aws:sts::999999999999:assumed-role/CMDBRunner/ci"


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} from the fake"}}, operation)


def _instance(iid: str) -> dict:
    return {
        "InstanceId": iid,
        "InstanceType": "t3.micro",
        "PrivateIpAddress": "10.0.0.1",
        "Tags": [{"Key": "Name", "Value": iid}],
    }


class FakeCredentials:
    def __init__(self, account: str, denied: bool) -> None:
        self.account, self.denied = account, denied

    def get_frozen_credentials(self):
        if self.denied:
            raise _error("AccessDenied", "AssumeRole")
        return ("key", "secret", "token")


def _opt_in(region: str) -> str:
    return "opt-in-not-required" if region in ENABLED_BY_DEFAULT["aws"] else "opted-in"


class FakeClient:
    def __init__(self, ctx: FakeCtx, account: str, region: str) -> None:
        self.ctx, self.account, self.region = ctx, account, region

    def describe_regions(self, **kwargs):
        with self.ctx.lock:
            self.ctx.calls["DescribeRegions", self.account] += 1
        return {
            "Regions": [{"RegionName": r, "OptInStatus": _opt_in(r)} for r in self.ctx.regions]
            + [{"RegionName": "cn-north-1"}, {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"}]
        }

    def describe_instances(self, **kwargs):
        """The fake's pages in order: page n carries NextToken "n+1" while more follow."""
        assert kwargs["MaxResults"] == 1000
        pages = self.ctx.pages.get((self.account, self.region), [{"Reservations": []}])
        number = int(kwargs.get("NextToken", "0"))
        with self.ctx.lock:
            self.ctx.calls["DescribeInstances", self.account, self.region] += 1
        page = pages[number]
        if isinstance(page, Exception):
            raise page
        if not self.ctx.literal:  # AWS names each reservation's owner; the tables here leave it out
            page = {**page, "Reservations": [{"OwnerId": self.account, **r} for r in page.get("Reservations", [])]}
        if number + 1 < len(pages) and "NextToken" not in page:
            page = {**page, "NextToken": str(number + 1)}
        return page


class FakeCtx:
    def __init__(
        self, pages: dict, denied: set[str] = frozenset(), regions=("us-east-1", "eu-west-1"), literal: bool = False
    ) -> None:
        self.pages, self.denied, self.regions = pages, denied, regions
        self.literal = literal  # pages as written: no OwnerId added where a reservation has none
        self.calls: Counter = Counter()
        self.lock = threading.Lock()
        self.warmed: list = []

    def role_credentials(self, role_arn: str, external_id, partition: str) -> FakeCredentials:
        account = role_arn.split(":")[4]
        with self.lock:
            self.calls["AssumeRole", account] += 1
        return FakeCredentials(account, account in self.denied)

    @contextlib.contextmanager
    def acting_as(self, credentials: FakeCredentials, service: str, region: str):
        yield FakeClient(self, credentials.account, region)

    def home_region(self, partition: str) -> str:
        return {"aws": "us-east-1", "aws-cn": "cn-north-1"}.get(partition, f"home-of-{partition}")

    def warm(self, service: str, regions: list[str], stop: threading.Event) -> int:
        self.warmed.append((service, list(regions), stop))
        return 0

    def principal(self) -> str:
        return PRINCIPAL


def _settings(accounts: list[str], regions: list[str] | None = None):
    raw = {"plugin": "crossaccount.aws.ec2", "role_name": "CMDBDiscovery", "accounts": accounts}
    if regions:
        raw["regions"] = regions
    return settings_from(raw)


@pytest.mark.parametrize("owner", ["222222222222", "", 12, "111111111111\n"])
def test_a_reservation_of_another_account_fails_that_region(owner):
    """DescribeInstances of an account lists that account's reservations only: any other OwnerId
    (an answer meant for someone else) fails the account-region, never files its instances here."""
    pages = {
        ("111111111111", "us-east-1"): [
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-1")]}]},
            {"Reservations": [{"OwnerId": owner, "Instances": [_instance("i-2")]}]},
        ],
        ("111111111111", "eu-west-1"): [
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-3")]}]}
        ],
    }
    settings = _settings(["111111111111"], regions=["us-east-1", "eu-west-1"])
    result = scan(FakeCtx(pages), settings.scan, settings.accounts.explicit)
    assert [(r.region, [h["instance_id"] for h in r.records]) for r in result.regions] == [("eu-west-1", ["i-3"])]
    [failure] = result.failures
    assert (failure.account_id, failure.region, failure.code) == ("111111111111", "us-east-1", "NotAnAwsResponse")
    shown = owner if owner == "222222222222" else "another account"
    assert f"a reservation of {shown}, not of account 111111111111" in failure.message


@pytest.mark.parametrize(
    "reservation",
    [
        {"Instances": [_instance("i-2")]},
        {"OwnerId": None, "Instances": [_instance("i-2")]},
        {"OwnerId": None, "Instances": []},
    ],
    ids=["no-owner", "null-owner", "null-owner-empty"],
)
def test_a_reservation_with_no_owner_fails_that_region(reservation):
    """AWS names the owner of every reservation; an answer that leaves it out cannot be checked
    (a proxy's answer for some other account would pass) and fails the account-region."""
    pages = {
        ("111111111111", "us-east-1"): [
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-1")]}]},
            {"Reservations": [reservation]},
        ],
        ("111111111111", "eu-west-1"): [
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-3")]}]}
        ],
    }
    settings = _settings(["111111111111"], regions=["us-east-1", "eu-west-1"])
    result = scan(FakeCtx(pages, literal=True), settings.scan, settings.accounts.explicit)
    assert [(r.region, [h["instance_id"] for h in r.records]) for r in result.regions] == [("eu-west-1", ["i-3"])]
    [failure] = result.failures
    assert (failure.account_id, failure.region, failure.code) == ("111111111111", "us-east-1", "NotAnAwsResponse")
    assert "a reservation with no OwnerId" in failure.message


@pytest.mark.parametrize(
    "excluded",
    [
        {"OwnerId": "222222222222", "Instances": [_instance("i-1")]},
        {"Instances": [_instance("i-1")]},
        {
            "OwnerId": "111111111111",
            "Instances": [{**_instance("i-1"), "Placement": {"AvailabilityZone": "eu-west-1a"}}],
        },
    ],
    ids=["other-owner", "no-owner", "other-zone"],
)
def test_an_exclude_filters_answer_meant_for_someone_else_fails_the_region_instead_of_hiding_hosts(excluded):
    """exclude_filters leaves out what its query lists: a forged answer to that query would hide
    this account's instances, so it is checked like the listing and fails the account-region."""
    pages = {
        ("111111111111", "us-east-1"): [
            {"Reservations": [excluded]},  # the exclude_filters query comes first
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-1"), _instance("i-2")]}]},
        ],
    }

    class ByQuery(FakeClient):  # one page per query (the Filters tell them apart), no NextToken
        def describe_instances(self, **kwargs):
            excluding = any(f["Name"] == "tag:Name" for f in kwargs["Filters"])
            return pages[self.account, self.region][0 if excluding else 1]

    class Ctx(FakeCtx):
        @contextlib.contextmanager
        def acting_as(self, credentials, service, region):
            yield ByQuery(self, credentials.account, region)

    ctx = Ctx(pages, literal=True)
    raw = {
        "plugin": "crossaccount.aws.ec2",
        "role_name": "CMDBDiscovery",
        "accounts": ["111111111111"],
        "regions": ["us-east-1"],
        "exclude_filters": [{"tag:Name": "i-1"}],
    }
    settings = settings_from(raw)
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert result.regions == []
    [failure] = result.failures
    assert (failure.region, failure.code) == ("us-east-1", "NotAnAwsResponse")


def test_a_region_failing_on_a_later_page_is_a_failure_never_a_partial_list():
    pages = {
        ("111111111111", "us-east-1"): [
            {"Reservations": [{"OwnerId": "111111111111", "Instances": [_instance("i-1"), _instance("i-2")]}]},
            _error("RequestLimitExceeded", "DescribeInstances"),
        ],
        ("111111111111", "eu-west-1"): [{"Reservations": [{"Instances": [_instance("i-3")]}]}],
    }
    settings = _settings(["111111111111"], regions=["us-east-1", "eu-west-1"])
    result = scan(FakeCtx(pages), settings.scan, settings.accounts.explicit)
    assert [(r.region, [h["instance_id"] for h in r.records]) for r in result.regions] == [("eu-west-1", ["i-3"])]
    [failure] = result.failures
    assert (failure.account_id, failure.region, failure.code) == ("111111111111", "us-east-1", "RequestLimitExceeded")
    assert "DescribeInstances" in failure.message
    assert result.progress.tasks_failed == 1 and result.progress.instances == 1


def test_an_instance_on_two_pages_is_listed_once():
    pages = {
        ("111111111111", "us-east-1"): [
            {"Reservations": [{"Instances": [_instance("i-1"), _instance("i-2")]}]},
            {"Reservations": [{"Instances": [_instance("i-2"), _instance("i-4")]}]},
        ],
    }
    settings = _settings(["111111111111"], regions=["us-east-1"])
    result = scan(FakeCtx(pages), settings.scan, settings.accounts.explicit)
    assert [h["instance_id"] for h in result.regions[0].records] == ["i-1", "i-2", "i-4"]
    assert result.failures == []


def test_a_denied_account_is_one_failure_and_the_others_are_complete():
    pages = {
        (a, r): [{"Reservations": [{"Instances": [_instance(f"i-{a[:3]}-{r}")]}]}]
        for a in ("111111111111", "222222222222", "333333333333")
        for r in ("us-east-1", "eu-west-1")
    }
    ctx = FakeCtx(pages, denied={"222222222222"})
    settings = _settings(["111111111111", "222222222222", "333333333333"], regions=["us-east-1", "eu-west-1"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    listed = sorted(h["instance_id"] for r in result.regions for h in r.records)
    assert listed == sorted(f"i-{a[:3]}-{r}" for a in ("111", "333") for r in ("us-east-1", "eu-west-1"))
    [failure] = result.failures
    assert (failure.account_id, failure.region, failure.code) == ("222222222222", None, "AccessDenied")
    assert PRINCIPAL in failure.hint and "arn:aws:iam::222222222222:role/CMDBDiscovery" in failure.hint
    assert result.progress.accounts_assumed == 2 and result.progress.accounts_failed == 1
    assert result.planned == {"111111111111": ["us-east-1", "eu-west-1"], "333333333333": ["us-east-1", "eu-west-1"]}


def test_describe_regions_once_per_account_other_partitions_and_not_opted_in_skipped():
    ctx = FakeCtx({}, regions=(*ENABLED_BY_DEFAULT["aws"], "me-central-1"))
    settings = _settings(["111111111111", "222222222222"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    scanned = {*ENABLED_BY_DEFAULT["aws"], "me-central-1"}  # not cn-north-1, not af-south-1 (not opted in)
    assert ctx.calls == Counter(
        {
            ("DescribeRegions", "111111111111"): 1,
            ("DescribeRegions", "222222222222"): 1,
            ("AssumeRole", "111111111111"): 1,
            ("AssumeRole", "222222222222"): 1,
            **{("DescribeInstances", a, r): 1 for a in ("111111111111", "222222222222") for r in scanned},
        }
    )
    assert result.progress.tasks_total == 36 and result.progress.tasks_done == 36
    assert {r.region for r in result.regions} == scanned


@pytest.mark.parametrize("listed", [("eu-west-1",), ("me-central-1",), ("eu-west-1", "cn-north-1")])
def test_regions_every_account_has_are_scanned_when_describe_regions_leaves_them_out(listed):
    """AWS enables the regions introduced before 20 March 2019 in every account: an answer that
    leaves some out (a proxy, a stand-in) cannot make the scan skip them and look complete; what
    it adds (an opted-in region) is scanned as well."""
    ctx = FakeCtx(
        {("111111111111", "us-east-1"): [{"Reservations": [{"Instances": [_instance("i-1")]}]}]}, regions=listed
    )
    settings = _settings(["111111111111"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    expected = sorted({*ENABLED_BY_DEFAULT["aws"], *(r for r in listed if r != "cn-north-1")})
    assert result.planned == {"111111111111": expected}
    assert sorted(r.region for r in result.regions) == expected and not result.failures
    assert [h["instance_id"] for r in result.regions for h in r.records] == ["i-1"]


def test_configured_regions_need_no_describe_regions():
    ctx = FakeCtx({})
    settings = _settings(["111111111111"], regions=["eu-west-1"])
    scan(ctx, settings.scan, settings.accounts.explicit)
    assert ("DescribeRegions", "111111111111") not in ctx.calls


def test_pages_are_followed_by_next_token_one_call_each():
    pages = {
        ("111111111111", "us-east-1"): [{"Reservations": [{"Instances": [_instance(f"i-{n}")]}]} for n in range(4)]
    }
    ctx = FakeCtx(pages)
    settings = _settings(["111111111111"], regions=["us-east-1"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert [h["instance_id"] for h in result.regions[0].records] == ["i-0", "i-1", "i-2", "i-3"]
    assert ctx.calls["DescribeInstances", "111111111111", "us-east-1"] == 4


def test_a_next_token_given_twice_fails_the_region_instead_of_looping_forever():
    looping = {"Reservations": [{"Instances": [_instance("i-1")]}], "NextToken": "1"}
    pages = {
        ("111111111111", "us-east-1"): [{"Reservations": [], "NextToken": "1"}, looping],
        ("111111111111", "eu-west-1"): [{"Reservations": [{"Instances": [_instance("i-3")]}]}],
    }
    ctx = FakeCtx(pages)
    settings = _settings(["111111111111"], regions=["us-east-1", "eu-west-1"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert [(r.region, [h["instance_id"] for h in r.records]) for r in result.regions] == [("eu-west-1", ["i-3"])]
    [failure] = result.failures
    assert (failure.region, failure.code) == ("us-east-1", "NotAnAwsResponse")
    assert "NextToken" in failure.message
    assert ctx.calls["DescribeInstances", "111111111111", "us-east-1"] == 2  # no third call


# -- the region clients made while the AssumeRole calls are in flight ----------------------------


def test_one_warm_up_task_per_scan_with_the_regions_in_call_order_and_stopped_at_the_end():
    settings = _settings(["111111111111", "222222222222"])
    ctx = FakeCtx({})
    scan(ctx, settings.scan, settings.accounts.explicit)
    [(service, regions, stop)] = ctx.warmed
    assert service == "ec2"
    # DescribeRegions' home region first, then the default regions in the order their calls come
    # (regions.enabled_regions sorts the answer)
    assert regions == ["us-east-1"] + sorted(r for r in ENABLED_BY_DEFAULT["aws"] if r != "us-east-1")
    assert stop.is_set()

    settings = _settings(["111111111111"], regions=["eu-west-1", "us-west-2"])
    ctx = FakeCtx({})
    scan(ctx, settings.scan, settings.accounts.explicit)
    assert ctx.warmed[0][1] == ["eu-west-1", "us-west-2"], "no DescribeRegions: no home region"


def test_a_slow_warm_up_is_stopped_when_the_scan_ends():
    # the warm-up never holds the scan: the pool's shutdown waits for it, so it must see the stop
    class SlowWarm(FakeCtx):
        def warm(self, service, regions, stop):
            self.warmed.append(stop.wait(30))
            return 0

    settings = _settings(["111111111111"])
    ctx = SlowWarm({})
    started = time.monotonic()
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert time.monotonic() - started < 10
    assert ctx.warmed == [True]
    assert not result.failures and result.progress.tasks_done == 17  # the regions every account has


def test_the_order_of_the_warm_up_is_the_order_of_the_calls():
    # the regions DescribeRegions gives are scanned in sorted order: the first calls find their
    # clients made first
    settings = _settings(["111111111111"])
    ctx = FakeCtx({}, regions=tuple(ENABLED_BY_DEFAULT["aws"]))
    one_at_a_time = dataclasses.replace(settings.scan, max_workers=1)  # calls in submission order
    scan(ctx, one_at_a_time, settings.accounts.explicit)
    called = [region for (action, _account, *rest) in ctx.calls for region in rest if action == "DescribeInstances"]
    assert len(called) == 17
    assert ctx.warmed[0][1] == ["us-east-1"] + [r for r in called if r != "us-east-1"]


def test_a_forecast_that_fails_costs_nothing(monkeypatch):
    # e.g. botocore's configuration cannot be read for the home region: the warm-up is skipped,
    # the accounts report what they meet themselves
    from ansible_collections.crossaccount.aws.plugins.module_utils import scanner

    def broken(*args):
        raise RuntimeError("the profile cannot be read")

    monkeypatch.setattr(scanner, "warm_up_regions", broken)
    pages = {("111111111111", "us-east-1"): [{"Reservations": [{"Instances": [_instance("i-1")]}]}]}
    settings = _settings(["111111111111"])
    ctx = FakeCtx(pages)
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert not result.failures and ctx.warmed == []
    assert [h["instance_id"] for r in result.regions for h in r.records] == ["i-1"]


def test_a_failing_warm_up_costs_nothing():
    class BrokenWarm(FakeCtx):
        def warm(self, service, regions, stop):
            raise RuntimeError("a bug in the warm-up")

    pages = {("111111111111", r): [{"Reservations": [{"Instances": [_instance(f"i-{r}")]}]}] for r in ("us-east-1",)}
    settings = _settings(["111111111111"])
    result = scan(BrokenWarm(pages), settings.scan, settings.accounts.explicit)
    assert not result.failures
    assert [h["instance_id"] for r in result.regions for h in r.records] == ["i-us-east-1"]


def _account(n: int, partition: str = "aws", regions=None) -> Account:
    account_id = f"{n:012d}"
    return Account(id=account_id, role_arn=f"arn:{partition}:iam::{account_id}:role/R", regions=regions)


def test_warm_up_regions_follow_what_each_account_will_call():
    home = FakeCtx({}).home_region
    discover = _settings(["111111111111"]).scan
    # accounts that need DescribeRegions: each partition's home region first, then its default regions
    got = warm_up_regions(discover, [_account(1), _account(2, "aws-cn"), _account(3)], home)
    assert got[:2] == ["us-east-1", "cn-north-1"]
    assert got[2:] == sorted(r for r in ENABLED_BY_DEFAULT["aws"] if r != "us-east-1") + ["cn-northwest-1"]
    # a partition with no forecast: its home region only (the rest are made at their first call)
    assert warm_up_regions(discover, [_account(4, "aws-iso")], home) == ["home-of-aws-iso"]
    # an account's own regions; excluded regions are never warmed (they are never called)
    configured = _settings(["111111111111"], regions=["eu-west-1", "us-west-2"]).scan
    own = _account(5, regions=("ap-south-1", "eu-west-1"))
    assert warm_up_regions(configured, [_account(6), own], home) == ["eu-west-1", "us-west-2", "ap-south-1"]
    excluding = dataclasses.replace(discover, exclude_regions=("us-east-1", "sa-east-1"))
    got = warm_up_regions(excluding, [_account(7)], home)
    assert got[0] == "us-east-1", "DescribeRegions still goes to the home region"
    assert "sa-east-1" not in got and got.count("us-east-1") == 1
    assert warm_up_regions(discover, [], home) == []


def test_warm_up_regions_ask_the_home_region_once_per_partition():
    # the home region reads botocore's configuration: not once per account of a 5,000-account estate
    asked = []

    def home(partition):
        asked.append(partition)
        return FakeCtx({}).home_region(partition)

    accounts = [_account(n) for n in range(1, 1001)] + [_account(2000, "aws-cn")]
    got = warm_up_regions(_settings(["111111111111"]).scan, accounts, home)
    assert asked == ["aws", "aws-cn"]
    assert got[:2] == ["us-east-1", "cn-north-1"]


class IntervalSeen(FakeCtx):
    """Records the interpreter's switch interval at every call made as an account (DescribeRegions
    and DescribeInstances alike)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[float] = []

    @contextlib.contextmanager
    def acting_as(self, credentials: FakeCredentials, service: str, region: str):
        self.seen.append(sys.getswitchinterval())
        yield FakeClient(self, credentials.account, region)


@pytest.fixture
def default_interval():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    yield
    sys.setswitchinterval(before)


def test_the_pool_runs_with_the_longer_switch_interval_and_gives_the_old_one_back(default_interval):
    assert SCAN_SWITCH_INTERVAL > 0.005
    ctx = IntervalSeen({})
    settings = _settings(["111111111111", "222222222222"])
    result = scan(ctx, settings.scan, settings.accounts.explicit)
    assert result.failures == [] and len(result.regions) == 2 * 17
    # DescribeRegions of both accounts and the 34 account-regions, all on pool threads
    assert len(ctx.seen) == 2 + 2 * 17 and all(v == pytest.approx(SCAN_SWITCH_INTERVAL) for v in ctx.seen)
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_the_old_switch_interval_comes_back_when_the_scan_raises(default_interval):
    settings = _settings(["111111111111"])

    def progress(_):
        raise RuntimeError("a progress callback that fails")

    ctx = IntervalSeen({})
    with pytest.raises(RuntimeError):
        scan(ctx, settings.scan, settings.accounts.explicit, on_progress=progress)
    # DescribeRegions ran before the callback raised, with the scan's interval
    assert ctx.seen and all(v == pytest.approx(SCAN_SWITCH_INTERVAL) for v in ctx.seen)
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_a_longer_switch_interval_set_before_the_scan_is_kept(default_interval):
    sys.setswitchinterval(SCAN_SWITCH_INTERVAL * 4)
    ctx = IntervalSeen({})
    settings = _settings(["111111111111"])
    scan(ctx, settings.scan, settings.accounts.explicit)
    assert ctx.seen and all(v == pytest.approx(SCAN_SWITCH_INTERVAL * 4) for v in ctx.seen)
    assert sys.getswitchinterval() == pytest.approx(SCAN_SWITCH_INTERVAL * 4)
    with switch_interval(SCAN_SWITCH_INTERVAL / 10):
        assert sys.getswitchinterval() == pytest.approx(SCAN_SWITCH_INTERVAL * 4)
