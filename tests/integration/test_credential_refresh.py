"""Role credentials refresh themselves before expiry, against the stand-in, on a controlled clock.

The fault layer rewrites the Expiration of every AssumeRole answer to ``clock + 900 s`` and
botocore's refreshable credentials read the same clock (``time_fetcher``), so a run "longer than
the role session" takes milliseconds. The layer counts the AssumeRole calls per account and region.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.role_credentials import refresh_windows
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import RegionResult, _AccountPlan, scan_region
from tests.support.faults import Fault
from tests.support.settings import aws_context, scan_settings

ACCOUNT = "444444444444"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/CMDBDiscovery"
STS_REGION = "eu-west-1"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_refresh_windows_keep_botocore_defaults_for_long_sessions():
    assert refresh_windows(3600) == (900, 600)
    assert refresh_windows(43200) == (900, 600)
    advisory, mandatory = refresh_windows(900)
    assert 0 < mandatory < advisory < 900


def test_assumed_role_refreshes_before_expiry_and_keeps_working(stand_in, fleet, faults, aws_environment):
    clock = Clock()
    faults.sts_expiration = lambda: clock() + timedelta(seconds=900)
    try:
        ctx = aws_context(duration_seconds=900, sts_region=STS_REGION)
        credentials = ctx.role_credentials(ROLE, time_fetcher=clock)
        client = ctx.create_client("ec2", "us-east-1", credentials)
        expected = {i["instance_id"] for i in fleet if i["account"] == ACCOUNT and i["region"] == "us-east-1"}

        def listed() -> set[str]:
            pages = client.get_paginator("describe_instances").paginate()
            return {i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]}

        def assumed() -> int:
            return sum(n for (action, _, _), n in faults.calls.items() if action == "AssumeRole")

        # a normal run: one AssumeRole, however many calls
        for _ in range(3):
            assert listed() == expected
        assert assumed() == 1
        first_key = credentials.get_frozen_credentials().access_key

        advisory, mandatory = refresh_windows(900)
        clock.advance(900 - advisory - 30)  # close to expiry, outside the refresh window
        assert listed() == expected
        assert assumed() == 1

        clock.advance(advisory - mandatory + 60)  # inside the mandatory window: refresh before the call
        assert listed() == expected
        assert assumed() == 2
        second_key = credentials.get_frozen_credentials().access_key
        assert second_key != first_key
        for _ in range(3):
            assert listed() == expected
        assert assumed() == 2

        clock.advance(900)  # far past the first session's end: the run goes on
        assert listed() == expected
        assert assumed() == 3
        assert credentials.get_frozen_credentials().access_key not in (first_key, second_key)

        # every AssumeRole went to the regional STS endpoint of sts_region
        regions = {region for (action, _, region) in faults.calls if action == "AssumeRole"}
        assert regions == {STS_REGION}
    finally:
        faults.sts_expiration = None


def test_refresh_denied_mid_run_is_reported_as_an_assume_role_failure(stand_in, fleet, faults, aws_environment):
    """The role's trust changes during a long run: the region scanned at that moment fails with
    the AssumeRole code and hint (not a DescribeInstances one), and nothing partial is listed."""
    clock = Clock()
    faults.sts_expiration = lambda: clock() + timedelta(seconds=900)
    try:
        ctx = aws_context(duration_seconds=900, sts_region=STS_REGION)
        account = Account(id=ACCOUNT, role_arn=ROLE, name="production")
        settings = scan_settings(regions=("us-east-1",))
        plan = _AccountPlan(account, ctx.role_credentials(ROLE, time_fetcher=clock), ["us-east-1"])
        expected = {i["instance_id"] for i in fleet if i["account"] == ACCOUNT and i["region"] == "us-east-1"}

        fine = scan_region(ctx, settings, plan, "us-east-1")
        assert isinstance(fine, RegionResult)
        assert {r["instance_id"] for r in fine.records} == expected

        faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account=ACCOUNT, status=403)])
        clock.advance(900 - refresh_windows(900)[1] + 30)  # inside the mandatory refresh window
        failed = scan_region(ctx, settings, plan, "us-east-1")
        assert isinstance(failed, ScanFailure)
        assert (failed.account_id, failed.account_name, failed.region, failed.code) == (
            ACCOUNT,
            "production",
            "us-east-1",
            "AccessDenied",
        )
        assert failed.message.startswith("AssumeRole: ")
        assert f"tried sts:AssumeRole on {ROLE}" in failed.hint
        assert ctx.principal() and failed.hint.startswith(ctx.principal())
    finally:
        faults.sts_expiration = None


def test_sts_client_uses_the_regional_endpoint(monkeypatch):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ctx = aws_context(sts_region="ap-southeast-2")
    client = ctx.roles._sts_client_with_keys(
        ctx.roles.sts_region(), "sts", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret"
    )
    assert client.meta.endpoint_url == "https://sts.ap-southeast-2.amazonaws.com"
