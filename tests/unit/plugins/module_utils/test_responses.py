"""responses.py: what is an AWS answer, judged on what botocore hands the event hooks; errors.py's
bounded messages and the one line for the controller's credentials.

The hooks are exercised for real (botocore clients against moto, behind the fault layer) in
tests/integration/test_hostile_answers.py; here the decisions themselves, and a guard on the
botocore events they hang on."""

from __future__ import annotations

import inspect

import botocore.client
import botocore.endpoint
import botocore.session
import pytest
from botocore.exceptions import ClientError

from ansible_collections.crossaccount.aws.plugins.module_utils import responses
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    CONTROLLER_CREDENTIALS_PREFIX,
    MAX_MESSAGE,
    NotAnAwsResponse,
    ScanFailure,
    bounded,
    describe_failure,
    error_code_and_message,
    failure_line,
    safe_text,
    strict_errors_message,
    summary_lines,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.regions import describe_enabled_regions

SESSION = botocore.session.Session()


def model(service: str, operation: str):
    return SESSION.get_service_model(service).operation_model(operation)


class Http:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code, self.content = status, content


EC2_OK = (
    b'<?xml version="1.0"?><DescribeInstancesResponse xmlns="x"><requestId>r-1</requestId>'
    b"<reservationSet/></DescribeInstancesResponse>"
)


def test_the_botocore_events_used_still_exist():
    """Guard: botocore emits before-parse (endpoint), after-call and after-call-error (client) with
    the arguments the handlers read. A botocore release that renames them must fail here."""
    endpoint = inspect.getsource(botocore.endpoint.Endpoint._do_get_response)
    assert 'f"before-parse.{service_id}.{operation_model.name}"' in endpoint
    assert "response_dict=response_dict" in endpoint
    client = inspect.getsource(botocore.client.BaseClient._make_api_call)
    assert "f'after-call.{service_id}.{operation_name}'" in client
    assert "http_response=http" in client and "parsed=parsed_response" in client
    assert "after-call-error" in inspect.getsource(botocore.client.BaseClient._make_request)


def test_install_registers_on_a_session_and_its_clients():
    session = botocore.session.Session()
    responses.install(session)
    client = session.create_client("ec2", "us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(NotAnAwsResponse):
        client.meta.events.emit(
            "before-parse.ec2.DescribeInstances",
            operation_model=model("ec2", "DescribeInstances"),
            response_dict={"status_code": 200, "body": b"<html></html>", "headers": {}},
            customized_response_dict={},
        )


@pytest.mark.parametrize(
    ("service", "operation", "body", "words"),
    [
        ("ec2", "DescribeInstances", b"", "empty body"),
        ("ec2", "DescribeInstances", b"<!DOCTYPE html><html><body>Sign in", "<html>"),
        ("ec2", "DescribeInstances", b'{"Reservations": []}', "not XML"),
        ("ec2", "DescribeRegions", EC2_OK, "<DescribeInstancesResponse>, not <DescribeRegionsResponse>"),
        ("sts", "AssumeRole", b"<?xml version='1.0'?><html/>", "<html>"),
        ("organizations", "ListAccounts", b"<html>sign in</html>", "not a JSON object"),
    ],
)
def test_a_body_of_another_shape_is_refused_before_parsing(service, operation, body, words):
    with pytest.raises(NotAnAwsResponse) as info:
        responses.check_body(
            operation_model=model(service, operation), response_dict={"status_code": 200, "body": body}
        )
    assert words in str(info.value) and str(info.value).startswith(operation)


def test_error_answers_and_aws_answers_pass_the_body_check():
    m = model("ec2", "DescribeInstances")
    responses.check_body(operation_model=m, response_dict={"status_code": 200, "body": EC2_OK})
    responses.check_body(operation_model=m, response_dict={"status_code": 403, "body": b"<html>denied</html>"})
    responses.check_body(
        operation_model=model("organizations", "ListAccounts"),
        response_dict={"status_code": 200, "body": b' {"Accounts": []}'},
    )


def test_a_parsed_answer_needs_a_request_id_and_its_member():
    m = model("ec2", "DescribeInstances")
    ok = {"Reservations": [], "ResponseMetadata": {"RequestId": "r-1"}}
    responses.check_answer(http_response=Http(200, EC2_OK), parsed=ok, model=m)
    with pytest.raises(NotAnAwsResponse, match="no AWS request id"):
        responses.check_answer(http_response=Http(200, EC2_OK), parsed={"Reservations": []}, model=m)
    with pytest.raises(NotAnAwsResponse, match="has no Reservations"):
        responses.check_answer(
            http_response=Http(200, EC2_OK), parsed={"ResponseMetadata": {"RequestId": "r"}}, model=m
        )
    # an error answer is botocore's business
    responses.check_answer(http_response=Http(500, b"<html/>"), parsed={}, model=m)
    org = model("organizations", "ListAccounts")
    with pytest.raises(NotAnAwsResponse, match="has no Accounts"):
        responses.check_answer(
            http_response=Http(200, b"{}"), parsed={"ResponseMetadata": {"RequestId": "r"}}, model=org
        )


def test_parser_slips_become_not_an_aws_response():
    with pytest.raises(NotAnAwsResponse):
        responses.check_call_error(
            exception=KeyError("AssumeRoleResult"), context={"crossaccount_operation": "AssumeRole"}
        )
    responses.check_call_error(exception=ConnectionError("x"), context={})  # not a parser's: left alone


@pytest.mark.parametrize("bad", ["22222222222２", "222222222222\n", "all", "", None, 222222222222, "../222222222222"])
def test_ids_from_answers(bad):
    with pytest.raises(NotAnAwsResponse):
        responses.account_id(bad, "ListAccounts")
    assert responses.account_id("222222222222", "ListAccounts") == "222222222222"


@pytest.mark.parametrize("bad", ["localhost", "all", "i-abc\n", "i-０１", "", None, "i-a b"])
def test_instance_ids_from_answers(bad):
    with pytest.raises(NotAnAwsResponse):
        responses.instance_id(bad)
    assert responses.instance_id("i-0123456789abcdef0") == "i-0123456789abcdef0"


class _Regions:
    def __init__(self, answer):
        self.answer = answer

    def describe_regions(self, **kwargs):
        return self.answer


@pytest.mark.parametrize(
    "answer",
    [
        {"Regions": []},
        {},
        {"Regions": [{"RegionName": "cn-north-1"}]},  # none of this partition
        {"Regions": [{"RegionName": "us-east-1"}, {"RegionName": "evil.example.com#"}]},
        {"Regions": [{"RegionName": "us-east-1\n"}]},
    ],
)
def test_describe_regions_without_a_usable_region_is_not_aws(answer):
    with pytest.raises(NotAnAwsResponse):
        describe_enabled_regions(_Regions(answer), "aws")


def test_response_parser_error_is_cut_to_its_reason_and_first_bytes():
    from botocore.parsers import ResponseParserError

    page = "<html>" + "x" * 3_000_000
    exc = ResponseParserError(
        f"Unable to parse response (syntax error), invalid XML received. Further retries may succeed:\n{page}"
    )
    code, message = error_code_and_message(exc)
    assert code == "NotAnAwsResponse" and len(message) < 500 and "syntax error" in message


def test_messages_are_bounded_one_line_and_scrubbed():
    secret = "AKIA" + "A" * 16
    text = "line1\nline2\r\n" + secret + " " + "y" * 100_000
    out = safe_text(text)
    assert len(out) <= MAX_MESSAGE and "\n" not in out and secret not in out and "[redacted]" in out
    assert bounded("short") == "short"
    failure = describe_failure(
        ClientError({"Error": {"Code": "X" * 500, "Message": "m" * 50_000}}, "DescribeInstances"),
        account_id="111111111111",
        account_name="n" * 10_000,
        region="us-east-1",
        operation="DescribeInstances",
    )
    assert len(failure.message) <= MAX_MESSAGE and len(failure.code) <= 64
    assert len(failure_line(failure.as_var())) < 2200


def _controller(account_id: str, message: str = "AssumeRole: The security token included in the request is expired"):
    return describe_failure(
        ClientError({"Error": {"Code": "ExpiredToken", "Message": message}}, "AssumeRole"),
        account_id=account_id,
        account_name=None,
        region=None,
        operation="AssumeRole",
        role_arn=f"arn:aws:iam::{account_id}:role/R",
        sts_region="us-east-1",
    )


@pytest.mark.parametrize(
    "code", ["ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"]
)
def test_sts_refusing_the_controllers_credentials_names_them_not_the_role(code):
    failure = describe_failure(
        ClientError({"Error": {"Code": code, "Message": "refused"}}, "AssumeRole"),
        account_id="111111111111",
        account_name=None,
        region=None,
        operation="AssumeRole",
        principal="arn:aws:iam::999999999999:user/ci",
        role_arn="arn:aws:iam::111111111111:role/R",
    )
    assert failure.hint.startswith(CONTROLLER_CREDENTIALS_PREFIX)
    assert "refresh the controller's credentials" in failure.hint
    assert "trust policy" not in failure.hint and "duration_seconds" not in failure.hint


def test_expired_role_session_on_describe_instances_keeps_its_own_hint():
    failure = describe_failure(
        ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "DescribeInstances"),
        account_id="111111111111",
        account_name=None,
        region="us-east-1",
        operation="DescribeInstances",
    )
    assert not failure.hint.startswith(CONTROLLER_CREDENTIALS_PREFIX)


def test_controller_failures_are_one_line_naming_every_account():
    failures = [_controller(f"{i:012d}").as_var() for i in range(1, 31)]
    other = ScanFailure("999999999999", None, "us-east-1", "Throttling", "slow", "raise max_attempts").as_var()
    lines = summary_lines([*failures, other])
    assert len(lines) == 2
    assert lines[0].startswith(CONTROLLER_CREDENTIALS_PREFIX)
    assert "30 account(s) not scanned" in lines[0] and "000000000001" in lines[0] and "and 10 more" in lines[0]
    assert lines[1].startswith("account 999999999999 region us-east-1: Throttling")
    message = strict_errors_message([*failures, other], True)
    assert message.count(CONTROLLER_CREDENTIALS_PREFIX) == 1 and "31 scan(s) failed" in message


def test_every_client_of_the_run_checks_its_answers(monkeypatch):
    """The AwsContext of a run installs the checks: its EC2 clients and the STS client of the role
    credentials refuse a page that is not AWS's (a refactoring of credentials.py must keep this)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    ctx = AwsContext(
        profile=None,
        sts_region="us-east-1",
        retry_mode="standard",
        max_attempts=2,
        max_pool_connections=2,
        connect_timeout=1,
        read_timeout=1,
        duration_seconds=900,
        role_session_name="test",
    )
    ec2 = ctx.create_client("ec2", "eu-west-1")
    sts = ctx.roles._sts_client_with_keys("us-east-1", "sts", aws_access_key_id="a", aws_secret_access_key="b")
    for client, service, operation in ((ec2, "ec2", "DescribeInstances"), (sts, "sts", "AssumeRole")):
        with pytest.raises(NotAnAwsResponse):
            client.meta.events.emit(
                f"before-parse.{service}.{operation}",
                operation_model=model(service, operation),
                response_dict={"status_code": 200, "body": b"<html>sign in</html>", "headers": {}},
                customized_response_dict={},
            )


class _OrgClient:
    """Organizations answers as a hostile middlebox could shape them."""

    def __init__(self, accounts: list, ous: list) -> None:
        self.accounts, self.ous = accounts, ous

    def get_paginator(self, method: str):
        pages = {
            "list_accounts": [{"Accounts": self.accounts}],
            "list_accounts_for_parent": [{"Accounts": self.accounts}],
            "list_organizational_units_for_parent": [{"OrganizationalUnits": self.ous}],
        }[method]

        class _P:
            def paginate(self, **kwargs):
                return iter(pages)

        return _P()


GOOD = {"Id": "222222222222", "Name": "dev", "Status": "ACTIVE"}


@pytest.mark.parametrize(
    ("accounts", "ous", "words"),
    [
        ([GOOD, {"Id": "22222222222２", "Status": "ACTIVE"}], [], "not 12 digits"),
        ([GOOD, {"Name": "no id", "Status": "ACTIVE"}], [], "not 12 digits"),
        ([GOOD, "222222222222"], [], "no list of Accounts"),
        ([GOOD], [{"Id": "ou-ab12-cdefgh34\n"}], "not an OU id"),
        ([GOOD], [{"Id": "../../r-ab12"}], "not an OU id"),
    ],
)
def test_organizations_answers_with_ids_of_the_wrong_shape_fail_discovery(accounts, ous, words):
    from ansible_collections.crossaccount.aws.plugins.module_utils.organizations import _Calls

    calls = _Calls(_OrgClient(accounts, ous))
    with pytest.raises(NotAnAwsResponse, match=words):
        if ous:
            calls.accounts_under(["r-ab12"])
        else:
            calls.all_accounts()
