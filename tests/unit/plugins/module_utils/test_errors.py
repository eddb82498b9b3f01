"""errors.py: AWS and network exceptions become ScanFailure data with a hint that fits."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    THROTTLING_CODES,
    ConfigError,
    ScanFailure,
    describe_failure,
    error_code_and_message,
    failed_operation,
    scrub,
)

ROLE = "arn:aws:iam::333333333333:role/CMDBDiscovery"
PRINCIPAL = "arn:aws:sts::999999999999:assumed-role/Runner/i-0abc"


def client_error(code: str, message: str = "denied", operation: str = "DescribeInstances") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def describe(exc, operation="DescribeInstances", region="eu-west-1", **kw) -> ScanFailure:
    return describe_failure(
        exc, account_id="333333333333", account_name="testing", region=region, operation=operation, **kw
    )


@pytest.mark.parametrize("external_id", [True, False])
def test_assume_role_denial_names_principal_and_role(external_id):
    failure = describe(
        client_error("AccessDenied", "not authorized", "AssumeRole"),
        operation="AssumeRole",
        region=None,
        principal=PRINCIPAL,
        role_arn=ROLE,
        external_id=external_id,
    )
    assert failure.code == "AccessDenied"
    assert failure.region is None
    assert failure.hint.startswith(f"{PRINCIPAL} tried sts:AssumeRole on {ROLE}; ")
    assert "trust policy" in failure.hint
    assert ("external id" in failure.hint) is external_id
    assert failure.message == "AssumeRole: not authorized"


def test_assume_role_denial_without_known_principal():
    failure = describe(client_error("AccessDenied", "x", "AssumeRole"), operation="AssumeRole", role_arn=ROLE)
    assert failure.hint.startswith(f"the source credentials tried sts:AssumeRole on {ROLE}")


def test_refresh_failure_during_a_region_scan_is_an_assume_role_failure():
    """A mandatory refresh raises the STS ClientError from inside DescribeInstances."""
    exc = client_error("AccessDenied", "not authorized", "AssumeRole")
    assert failed_operation(exc, "DescribeInstances") == "AssumeRole"
    failure = describe(exc, operation="DescribeInstances", principal=PRINCIPAL, role_arn=ROLE)
    assert "tried sts:AssumeRole" in failure.hint
    assert failure.message.startswith("AssumeRole: ")
    assert failure.region == "eu-west-1"


@pytest.mark.parametrize(
    ("operation", "code", "expected"),
    [
        ("DescribeInstances", "UnauthorizedOperation", "ec2:DescribeInstances"),
        ("DescribeRegions", "UnauthorizedOperation", "ec2:DescribeRegions"),
        ("DescribeRegions", "AuthFailure", "sts_region"),
        ("DescribeInstances", "AuthFailure", "opt-in"),
        ("DescribeInstances", "OptInRequired", "exclude_regions"),
        ("AssumeRole", "RegionDisabledException", "sts_region"),
        ("DescribeInstances", "ExpiredToken", "duration_seconds"),
    ],
)
def test_hint_depends_on_operation_and_code(operation, code, expected):
    failure = describe(client_error(code, "m", operation), operation=operation)
    assert failure.code == code
    assert expected in failure.hint


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_after_every_retry(code):
    failure = describe(client_error(code))
    assert "max_attempts" in failure.hint and "adaptive" in failure.hint


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ReadTimeoutError(endpoint_url="https://ec2.eu-west-1.amazonaws.com/"), "ReadTimeout"),
        (ConnectTimeoutError(endpoint_url="https://ec2.eu-west-1.amazonaws.com/"), "ConnectTimeout"),
        (EndpointConnectionError(endpoint_url="https://ec2.eu-west-1.amazonaws.com/"), "EndpointConnectionError"),
        (ConnectionClosedError(endpoint_url="https://ec2.eu-west-1.amazonaws.com/"), "ConnectionClosed"),
    ],
)
def test_network_errors(exc, code):
    failure = describe(exc)
    assert failure.code == code
    assert "ec2.eu-west-1.amazonaws.com" in failure.message
    assert "read_timeout" in failure.hint and "max_attempts" in failure.hint


def test_unknown_errors_keep_type_and_text():
    assert error_code_and_message(NoCredentialsError()) == ("NoCredentials", "Unable to locate credentials")
    assert error_code_and_message(ValueError("odd")) == ("ValueError", "odd")
    assert error_code_and_message(RuntimeError()) == ("RuntimeError", "RuntimeError")
    failure = describe(client_error("SomethingNew", "new"))
    assert (failure.code, failure.hint) == ("SomethingNew", "")


def test_secrets_are_scrubbed_from_messages():
    key = "ASIA" + "Q" * 16
    token = "A" * 200
    text = f"bad key {key} SessionToken={token} X-Amz-Security-Token: abc secret_access_key=xyz"
    cleaned = scrub(text)
    for secret in (key, token, "abc", "xyz"):
        assert secret not in cleaned
    failure = describe(client_error("AuthFailure", f"key {key} refused"))
    assert key not in failure.message and "[redacted]" in failure.message


def test_entry_and_line():
    failure = ScanFailure("111111111111", None, None, "AccessDenied", "AssumeRole: no", "fix it")
    assert failure.as_var() == {
        "account_id": "111111111111",
        "account_name": None,
        "region": None,
        "code": "AccessDenied",
        "message": "AssumeRole: no",
        "hint": "fix it",
    }
    assert failure.one_line() == "account 111111111111: AccessDenied: AssumeRole: no -- fix it"
    named = ScanFailure("222222222222", "development", "eu-west-1", "AuthFailure", "m")
    assert named.one_line() == "account 222222222222 (development) region eu-west-1: AuthFailure: m"


def test_config_error_is_one_line():
    assert str(ConfigError("max_workers", "must be 1 to 256", "write max_workers: 16")) == (
        "max_workers: must be 1 to 256; write max_workers: 16"
    )
    assert str(ConfigError("regions", "unknown region")) == "regions: unknown region"
