"""retry_mode and max_attempts reach botocore's retry handler, for every mode the option allows.

In-process against the stand-in: a region throttled on every call is called exactly
``max_attempts`` times and then reported as one ScanFailure with the throttling hint.
(tests/integration/test_failures.py shows the same through the CLI for the default mode.)
"""

from __future__ import annotations

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import prepare_account, scan_region
from tests.support.faults import Fault
from tests.support.settings import aws_context, definitions, scan_settings

ACCOUNT = "111111111111"
REGION = "us-west-1"


@pytest.mark.parametrize("mode", definitions()["retry_mode"]["choices"])
def test_every_retry_mode_honours_max_attempts(mode, stand_in, faults, aws_environment):
    max_attempts = 2
    ctx = aws_context(retry_mode=mode, max_attempts=max_attempts, read_timeout=5, connect_timeout=5)
    account = Account(id=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/CMDBDiscovery")
    settings = scan_settings(regions=(REGION,))
    plan = prepare_account(ctx, settings, account)
    assert not isinstance(plan, ScanFailure), plan

    faults.set_faults([Fault(code="Throttling", action="DescribeInstances", account=ACCOUNT, region=REGION)])
    outcome = scan_region(ctx, settings, plan, REGION)
    assert isinstance(outcome, ScanFailure)
    assert (outcome.account_id, outcome.region, outcome.code) == (ACCOUNT, REGION, "Throttling")
    assert "max_attempts" in outcome.hint
    assert faults.calls[("DescribeInstances", ACCOUNT, REGION)] == max_attempts
