"""The inventory's ssm option: validation (one line naming the key and the fix), the non-secret
host variables, the online group and the DescribeInstanceInformation discovery."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import (
    add_ping_status,
    parse_ssm,
    ssm_groups,
    ssm_host_vars,
)

GOOD = {"role_name": "AnsibleSessionManager", "bucket_name": "example-ansible-ssm"}
RECORD = {"instance_id": "i-0123456789abcdef0", "account_id": "222222222222", "region": "eu-west-1"}


def test_unset_is_none_and_minimal_is_enough():
    assert parse_ssm(None) is None
    ssm = parse_ssm(GOOD)
    assert (ssm.role_name, ssm.bucket_name, ssm.discovery, ssm.set_connection) == (
        "AnsibleSessionManager",
        "example-ansible-ssm",
        False,
        True,
    )


@pytest.mark.parametrize(
    "value, key, words",
    [
        ("AnsibleSessionManager", "ssm", "expected a mapping"),
        ({"bucket_name": "example-ansible-ssm"}, "ssm.role_name", "required"),
        ({"role_name": "AnsibleSessionManager"}, "ssm.bucket_name", "required"),
        ({**GOOD, "bucket_name": "Bad_Bucket"}, "ssm.bucket_name", "not valid"),
        ({**GOOD, "role_name": "arn:aws:iam::1:role/x"}, "ssm.role_name", "not valid"),
        ({**GOOD, "discovery": "yes please"}, "ssm.discovery", "true or false"),
        ({**GOOD, "s3_addressing_style": "dns"}, "ssm.s3_addressing_style", "unknown style"),
        ({**GOOD, "bucket_endpoint_url": "s3.amazonaws.com"}, "ssm.bucket_endpoint_url", "http"),
        ({**GOOD, "bucket": "x"}, "ssm.bucket", "did you mean"),
        ({**GOOD, "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG"}, "ssm.aws_secret_access_key", "secret keys"),
        ({**GOOD, "session_token": "IQoJb3JpZ2luX2VjEJr"}, "ssm.session_token", "secret keys"),
        # whole values, ASCII only: a trailing newline or a Unicode letter or digit never reaches AWS
        ({**GOOD, "role_name": "AnsibleSessionManager\n"}, "ssm.role_name", "not valid"),
        ({**GOOD, "role_name": "Ansible\u00c5SM"}, "ssm.role_name", "not valid"),
        ({**GOOD, "role_name": "Ansible\u0661SM"}, "ssm.role_name", "not valid"),
        ({**GOOD, "bucket_name": "example-ansible-ssm\n"}, "ssm.bucket_name", "not valid"),
        ({**GOOD, "bucket_name": "b..b"}, "ssm.bucket_name", "not valid"),
        ({**GOOD, "bucket_name": "192.168.1.1"}, "ssm.bucket_name", "not valid"),
        ({**GOOD, "role_session_name": "sess\n"}, "ssm.role_session_name", "not valid"),
        ({**GOOD, "document": "AWS-StartSSH\n"}, "ssm.document", "not valid"),
        ({**GOOD, "bucket_endpoint_url": "https://x\n"}, "ssm.bucket_endpoint_url", "http"),
    ],
)
def test_bad_values_are_one_line_naming_the_key(value, key, words):
    with pytest.raises(ConfigError) as caught:
        parse_ssm(value)
    text = str(caught.value)
    assert key in text and words in text and "\n" not in text
    assert "wJalrXUtnFEMI" not in text and "IQoJb3JpZ2luX2VjEJr" not in text


def test_host_vars_are_the_connection_and_nothing_secret():
    hv = ssm_host_vars(RECORD, parse_ssm(GOOD), "aws")
    assert hv == {
        "ansible_connection": "crossaccount.aws.aws_ssm",
        "ansible_aws_ssm_instance_id": "i-0123456789abcdef0",
        "ansible_aws_ssm_region": "eu-west-1",
        "ansible_aws_ssm_bucket_name": "example-ansible-ssm",
        "crossaccount_ssm_role_arn": "arn:aws:iam::222222222222:role/AnsibleSessionManager",
        "crossaccount_ssm_role_session_name": "crossaccount-ssm",
    }


def test_host_vars_options_and_partition():
    ssm = parse_ssm(
        {
            **GOOD,
            "set_connection": False,
            "document": "AnsibleShell",
            "s3_addressing_style": "virtual",
            "bucket_endpoint_url": "https://s3.cn-north-1.amazonaws.com.cn",
        }
    )
    hv = ssm_host_vars(RECORD, ssm, "aws-cn")
    assert "ansible_connection" not in hv
    assert hv["crossaccount_ssm_role_arn"] == "arn:aws-cn:iam::222222222222:role/AnsibleSessionManager"
    assert hv["ansible_aws_ssm_document"] == "AnsibleShell"
    assert hv["ansible_aws_ssm_s3_addressing_style"] == "virtual"
    assert hv["ansible_aws_ssm_bucket_endpoint_url"] == "https://s3.cn-north-1.amazonaws.com.cn"


def test_online_only_when_discovery_said_so():
    ssm = parse_ssm({**GOOD, "discovery": True})
    online = {**RECORD, "ssm_ping_status": "Online"}
    lost = {**RECORD, "ssm_ping_status": "ConnectionLost"}
    assert ssm_host_vars(online, ssm, "aws")["crossaccount_ssm_online"] is True
    assert ssm_host_vars(lost, ssm, "aws")["crossaccount_ssm_online"] is False
    # the discovery failed for this region: no claim either way
    assert "crossaccount_ssm_online" not in ssm_host_vars(RECORD, ssm, "aws")
    assert ssm_groups(online, ssm) == ["ssm_online"]
    assert ssm_groups(lost, ssm) == [] and ssm_groups(RECORD, ssm) == []
    assert ssm_groups(online, parse_ssm(GOOD)) == [], "no discovery, no group"


class _Client:
    """DescribeInstanceInformation over the given pages: page n carries NextToken "n+1" while more follow."""

    def __init__(self, pages):
        self.pages = pages
        self.calls = 0

    def describe_instance_information(self, **kwargs):
        assert kwargs["MaxResults"] == 50
        self.calls += 1
        number = int(kwargs.get("NextToken", "0"))
        page = self.pages[number]
        if isinstance(page, Exception):
            raise page
        if number + 1 < len(self.pages) and "NextToken" not in page:
            page = {**page, "NextToken": str(number + 1)}
        return page


def test_ping_status_from_every_page_and_not_managed():
    records = [dict(RECORD), {**RECORD, "instance_id": "i-1"}, {**RECORD, "instance_id": "i-2"}]
    pages = [
        {"InstanceInformationList": [{"InstanceId": "i-0123456789abcdef0", "PingStatus": "Online"}]},
        {"InstanceInformationList": [{"InstanceId": "i-1", "PingStatus": "ConnectionLost"}, {"PingStatus": "x"}]},
    ]
    add_ping_status(records, _Client(pages))
    assert [r["ssm_ping_status"] for r in records] == ["Online", "ConnectionLost", "NotManaged"]


def test_a_failure_on_a_later_page_leaves_the_records_untouched():
    records = [dict(RECORD)]
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeInstanceInformation")
    pages = [{"InstanceInformationList": [{"InstanceId": RECORD["instance_id"], "PingStatus": "Online"}]}, denied]
    with pytest.raises(ClientError):
        add_ping_status(records, _Client(pages))
    assert "ssm_ping_status" not in records[0]


def test_a_next_token_given_twice_raises_instead_of_looping():
    from ansible_collections.crossaccount.aws.plugins.module_utils.errors import NotAnAwsResponse

    records = [dict(RECORD)]
    client = _Client(
        [{"InstanceInformationList": [], "NextToken": "1"}, {"InstanceInformationList": [], "NextToken": "1"}]
    )
    with pytest.raises(NotAnAwsResponse, match="NextToken"):
        add_ping_status(records, client)
    assert client.calls == 2 and "ssm_ping_status" not in records[0]


@pytest.mark.parametrize(
    ("written", "meant"),
    [("true", True), ("Yes", True), ("on", True), ("1", True), ("false", False), ("NO", False), ("off", False)],
)
def test_quoted_boolean_words_mean_what_they_mean_at_the_top_level(written, meant):
    """discovery and set_connection take the words ansible-core's boolean options take (a quoted
    "true" was refused with 'expected true or false, got 'true'', while the top-level options take it)."""
    parsed = parse_ssm({**GOOD, "discovery": written, "set_connection": written})
    assert (parsed.discovery, parsed.set_connection) == (meant, meant)


@pytest.mark.parametrize("written", ["", "y", "truee", "2", 1, [True]])
def test_other_boolean_spellings_are_still_refused(written):
    with pytest.raises(ConfigError, match=r"^ssm\.discovery: expected true or false"):
        parse_ssm({**GOOD, "discovery": written})
