"""Answers that are not AWS's, through the real ansible-inventory CLI (issue 10 §2, §3; issue 13's
paging and host-record refusals).

A middlebox (a corporate proxy's sign-in page, a captive portal, a broken load balancer) that
answers 200 with something else than the AWS answer must make that account or account-region fail
with ``NotAnAwsResponse``, never read as "no instances", "no regions" or "no accounts". The fault
layer answers in place of AWS (tests/support/faults.py ``NOT_AWS``); every failure is bounded to
about a kilobyte however large the page. STS refusing the controller's own credentials is one
message naming the controller's credentials, not a hint per account.
"""

from __future__ import annotations

import json

import pytest

from tests.support import cli
from tests.support.faults import AWS_ENABLED_REGIONS, NOT_AWS, Fault, regions_body

ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")
REGIONS = "[us-east-1, eu-west-1, ap-southeast-2]"
HINT = "the endpoint answered something that is not an AWS response"
# one warning line: prefix, account, code, message (about 1 KB at most), hint
MAX_LINE = 2200

CONFIG = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - id: "111111111111"
    regions: {regions}
  - id: "222222222222"
    name: development{regions_222}
  - id: "333333333333"
    regions: {regions}
  - id: "444444444444"
    name: production
    regions: {regions}
read_timeout: 20
connect_timeout: 10
max_attempts: 2
{extra}"""


def config(extra: str = "", discover_222: bool = False) -> str:
    """222222222222 discovers its regions (DescribeRegions) only when ``discover_222``."""
    regions_222 = "" if discover_222 else f"\n    regions: {REGIONS}"
    return CONFIG.format(regions=REGIONS, extra=extra, regions_222=regions_222)


def ours(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "crossaccount.aws.ec2" in ln]


def run(write_inventory, stand_in, text: str, *args: str):
    result = cli.inventory(write_inventory(text), stand_in.endpoint, "--list", "--export", *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def describe_instances_fault(code: str, body: str, **extra) -> Fault:
    """``body`` in place of AWS's DescribeInstances answer for 444444444444 in ap-southeast-2."""
    return Fault(
        code=code, action="DescribeInstances", account="444444444444", region="ap-southeast-2", body=body, **extra
    )


def hosts_by_account_region(result) -> set[tuple[str, str]]:
    return {(hv["account_id"], hv["region"]) for hv in result.hostvars.values()}


@pytest.mark.parametrize("kind", sorted(NOT_AWS))
def test_describe_instances_answer_not_from_aws_fails_that_region_only(kind, stand_in, fleet, faults, write_inventory):
    faults.set_faults([describe_instances_fault(kind, NOT_AWS[kind])])
    result = run(write_inventory, stand_in, config())
    assert result.rc == 0, result.stderr
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [
        ("444444444444", "ap-southeast-2", "NotAnAwsResponse")
    ], errors
    assert HINT in errors[0]["hint"]
    assert "DescribeInstances" in errors[0]["message"]
    assert len(errors[0]["message"]) <= 1000
    # the other regions of the account, and the other accounts, are all there
    seen = hosts_by_account_region(result)
    assert ("444444444444", "us-east-1") in seen and ("444444444444", "eu-west-1") in seen
    assert ("444444444444", "ap-southeast-2") not in seen
    assert ("111111111111", "us-east-1") in seen
    [line] = [ln for ln in ours(result.stderr) if "NotAnAwsResponse" in ln]
    assert len(line) < MAX_LINE, len(line)


@pytest.mark.parametrize("kind", ["xhtml", "empty", "json", "huge-html"])
def test_describe_regions_answer_not_from_aws_fails_the_account(kind, stand_in, fleet, faults, write_inventory):
    faults.set_faults([Fault(code=kind, action="DescribeRegions", account="222222222222", body=NOT_AWS[kind])])
    result = run(write_inventory, stand_in, config(discover_222=True))
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [("222222222222", None, "NotAnAwsResponse")]
    assert "DescribeRegions" in errors[0]["message"] and HINT in errors[0]["hint"]
    assert not any(hv["account_id"] == "222222222222" for hv in result.hostvars.values())
    assert any(hv["account_id"] == "444444444444" for hv in result.hostvars.values())


def test_describe_regions_listing_no_region_fails_the_account(stand_in, fleet, faults, write_inventory):
    """Shaped like AWS, request id and all, but no region: every account has regions."""
    faults.set_faults(
        [
            Fault(
                code="none",
                action="DescribeRegions",
                account="222222222222",
                body=regions_body([]),
                content_type="text/xml",
            )
        ]
    )
    result = run(write_inventory, stand_in, config(discover_222=True))
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["code"]) for e in errors] == [("222222222222", "NotAnAwsResponse")]
    assert "no enabled region" in errors[0]["message"]


@pytest.mark.parametrize("listed", [["ap-east-1"], ["ap-southeast-2", "eu-south-1"]])
def test_describe_regions_leaving_out_regions_every_account_has_cannot_hide_them(
    listed, stand_in, fleet, faults, write_inventory
):
    """An answer of AWS's shape that lists only some regions (a proxy steering the scan): the 17
    regions every account has are scanned all the same, with what the answer adds; the account's
    instances are all there and the run reports nothing missing because nothing is."""
    body = regions_body(listed)
    faults.set_faults(
        [Fault(code="few", action="DescribeRegions", account="222222222222", body=body, content_type="text/xml")]
    )
    result = run(write_inventory, stand_in, config(discover_222=True))
    assert result.rc == 0 and result.all_vars["crossaccount_errors"] == [], result.stderr
    expected = {i["instance_id"] for i in fleet if i["account"] == "222222222222"}
    assert {i["region"] for i in fleet if i["account"] == "222222222222"} - set(listed), "a region left out has hosts"
    listed_ids = {hv["instance_id"] for hv in result.hostvars.values() if hv["account_id"] == "222222222222"}
    assert listed_ids == expected
    called = {r for (a, acct, r), n in faults.calls.items() if a == "DescribeInstances" and acct == "222222222222"}
    assert called == set(AWS_ENABLED_REGIONS[:17]) | set(listed)


def test_describe_regions_listing_a_region_that_is_no_region_fails_the_account(
    stand_in, fleet, faults, write_inventory
):
    body = regions_body(["us-east-1", "evil.example.com#"])
    faults.set_faults(
        [Fault(code="odd", action="DescribeRegions", account="222222222222", body=body, content_type="text/xml")]
    )
    result = run(write_inventory, stand_in, config(discover_222=True))
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["code"]) for e in errors] == [("222222222222", "NotAnAwsResponse")]
    assert (
        sum(n for (a, acct, _r), n in faults.calls.items() if a == "DescribeInstances" and acct == "222222222222") == 0
    )


@pytest.mark.parametrize("kind", ["html-sign-in", "xhtml", "empty", "huge-html"])
def test_assume_role_answer_not_from_aws_fails_the_account(kind, stand_in, fleet, faults, write_inventory):
    faults.set_faults([Fault(code=kind, action="AssumeRole", account="333333333333", body=NOT_AWS[kind])])
    result = run(write_inventory, stand_in, config())
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [("333333333333", None, "NotAnAwsResponse")]
    assert "AssumeRole" in errors[0]["message"] and HINT in errors[0]["hint"]
    assert "trust policy" not in errors[0]["hint"]
    assert any(hv["account_id"] == "111111111111" for hv in result.hostvars.values())


def test_every_answer_from_a_proxy_is_no_complete_empty_run(stand_in, fleet, faults, write_inventory):
    """The whole estate behind a sign-in page: every account fails, none is 'complete and empty',
    and with strict_errors the source fails with a bounded summary."""
    page = NOT_AWS["huge-html"]
    faults.set_faults(
        [
            Fault(code="proxy", action=action, body=page)
            for action in ("AssumeRole", "DescribeRegions", "DescribeInstances")
        ]
    )
    result = run(write_inventory, stand_in, config())
    errors = result.all_vars["crossaccount_errors"]
    assert sorted(e["account_id"] for e in errors) == sorted(ACCOUNTS)
    assert {e["code"] for e in errors} == {"NotAnAwsResponse"}
    assert result.hostvars == {}
    for line in ours(result.stderr):
        assert len(line) < MAX_LINE, len(line)

    strict = cli.inventory(
        write_inventory(config("strict_errors: true\n"), name="strict.ec2.yml"),
        stand_in.endpoint,
        "--list",
        extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"},
    )
    assert strict.rc != 0
    assert "Traceback" not in strict.stderr
    assert len(strict.stderr) < 4 * 2 * MAX_LINE + 4000, len(strict.stderr)
    assert "Please sign in" in strict.stderr  # a snippet names the page, for the operator


def _org_answer(accounts: list[dict]) -> Fault:
    body = json.dumps({"Accounts": accounts}).encode()
    return Fault(
        code="org",
        action="ListAccounts",
        body=body,
        content_type="application/x-amz-json-1.1",
        headers=(("x-amzn-RequestId", "0f8c2d4e-0000-4000-8000-000000000000"),),
    )


ORG_CONFIG = (
    'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["111111111111"]\n'
    "organization: {}\nregions: [us-east-1]\n"
)


@pytest.mark.parametrize("kind", ["html-sign-in", "empty", "json-object-empty", "xhtml"])
def test_organizations_answer_not_from_aws_lists_no_account_and_fails_discovery(
    kind, stand_in, fleet, faults, write_inventory
):
    faults.set_faults([Fault(code=kind, action="ListAccounts", body=NOT_AWS[kind])])
    result = run(write_inventory, stand_in, ORG_CONFIG)
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["code"]) for e in errors] == [("organization", "NotAnAwsResponse")], errors
    assert HINT in errors[0]["hint"]
    # the explicit account is scanned anyway
    assert any(hv["account_id"] == "111111111111" for hv in result.hostvars.values())


@pytest.mark.parametrize(
    "bad_id",
    ["22222222222２", "222222222222\n", "all", "../../222222222222", "2222222222", "arn:aws:iam::222222222222:role/X"],
)
def test_organizations_account_id_of_the_wrong_shape_fails_discovery(bad_id, stand_in, fleet, faults, write_inventory):
    """An id from a hostile answer never becomes a role ARN, a group or a shard input."""
    good = {"Id": "222222222222", "Name": "development", "Status": "ACTIVE", "Arn": "x", "Email": "a@b.c"}
    bad = {"Id": bad_id, "Name": "evil", "Status": "ACTIVE", "Arn": "x", "Email": "a@b.c"}
    faults.set_faults([_org_answer([good, bad])])
    result = run(write_inventory, stand_in, ORG_CONFIG + 'shard: "1/1"\n')
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["code"]) for e in errors] == [("organization", "NotAnAwsResponse")], errors
    assert "not 12 digits" in errors[0]["message"]
    assert not any(acct not in ("111111111111", None) for (_a, acct, _r) in faults.calls if _a == "AssumeRole")
    assert all(not g.startswith("account_") or g == "account_111111111111" for g in result.data)


def test_organizations_genuine_answer_is_scanned(stand_in, fleet, faults, write_inventory):
    """The control: the same answer with a good id is used."""
    good = {"Id": "222222222222", "Name": "development", "Status": "ACTIVE", "Arn": "x", "Email": "a@b.c"}
    faults.set_faults([_org_answer([good])])
    result = run(write_inventory, stand_in, ORG_CONFIG)
    assert result.all_vars["crossaccount_errors"] == []
    assert any(hv["account_id"] == "222222222222" for hv in result.hostvars.values())


def test_every_discovered_region_excluded_is_a_failure_of_the_account(stand_in, fleet, faults, write_inventory):
    """222222222222 discovers its regions; exclude_regions removes every one: it is reported, never
    an account scanned "complete" with no region. The accounts with regions of their own are scanned."""
    faults.aws_like_regions = True
    text = CONFIG.format(
        regions="[af-south-1]", extra=f"exclude_regions: [{', '.join(AWS_ENABLED_REGIONS)}]\n", regions_222=""
    )
    result = run(write_inventory, stand_in, text)
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [("222222222222", None, "NoRegionsToScan")]
    assert "exclude_regions" in errors[0]["message"] and "exclude_regions" in errors[0]["hint"]
    assert (
        sum(n for (a, acct, _r), n in faults.calls.items() if a == "DescribeInstances" and acct == "222222222222") == 0
    )
    assert (
        sum(n for (a, acct, _r), n in faults.calls.items() if a == "DescribeInstances" and acct == "111111111111") == 1
    )


CONTROLLER = "STS refused the controller's own credentials"


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch"])
def test_sts_refusing_the_controllers_credentials_is_one_message(code, stand_in, fleet, faults, write_inventory):
    """Every AssumeRole refused for the controller's own credentials: one warning naming them and the
    fix, no hint per account about trust policies or duration_seconds, and nothing looks complete."""
    faults.set_faults([Fault(code=code, action="AssumeRole", status=403, message="The security token is invalid")])
    result = run(write_inventory, stand_in, config())
    assert result.rc == 0, result.stderr
    lines = ours(result.stderr)
    assert len(lines) == 1, lines
    assert CONTROLLER in lines[0] and "refresh the controller's credentials" in lines[0]
    assert "4 account(s) not scanned" in lines[0]
    assert "trust policy" not in result.stderr and "duration_seconds" not in result.stderr
    errors = result.all_vars["crossaccount_errors"]
    assert sorted(e["account_id"] for e in errors) == sorted(ACCOUNTS)
    assert {e["code"] for e in errors} == {code}
    assert all(e["hint"].startswith(CONTROLLER) for e in errors)
    assert result.hostvars == {}
    # no GetCallerIdentity for a principal hint: it would be refused the same way
    assert not any(action == "GetCallerIdentity" for (action, _a, _r) in faults.calls)

    strict = cli.inventory(
        write_inventory(config("strict_errors: true\n"), name="strict.ec2.yml"),
        stand_in.endpoint,
        "--list",
        extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"},
    )
    assert strict.rc != 0 and "Traceback" not in strict.stderr
    # the warning and the failure (ansible-core 2.19 may repeat a source's error after "caused by"):
    # never once per account
    assert 2 <= strict.stderr.count("refresh the controller's credentials") <= 3
    assert "trust policy" not in strict.stderr


def test_controller_refusal_in_a_later_batch_does_not_call_sts_again(stand_in, fleet, faults, write_inventory):
    """With one worker the accounts are tried one after the other: after the first refusal the others
    are not sent to STS at all (one refused call, not one per account)."""
    faults.set_faults([Fault(code="ExpiredToken", action="AssumeRole", status=403, message="expired")])
    result = run(write_inventory, stand_in, config("max_workers: 1\n"))
    assert sum(n for (action, _a, _r), n in faults.calls.items() if action == "AssumeRole") == 1
    errors = result.all_vars["crossaccount_errors"]
    assert sorted(e["account_id"] for e in errors) == sorted(ACCOUNTS)
    assert len(ours(result.stderr)) == 1


def test_a_role_denial_still_gets_its_own_hint(stand_in, fleet, faults, write_inventory):
    """The control: AccessDenied is about the role of that account, and says so per account."""
    faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account="333333333333", status=403)])
    result = run(write_inventory, stand_in, config())
    [line] = [ln for ln in ours(result.stderr) if "333333333333" in ln]
    assert "trust policy" in line and CONTROLLER not in line


_EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
# answers shaped like EC2's, as a proxy could forge them: one pages forever, one repeats a scalar element
ENDLESS = (
    f'<DescribeInstancesResponse xmlns="{_EC2_NS}"><requestId>0f3e-1</requestId><reservationSet/>'
    "<nextToken>again</nextToken></DescribeInstancesResponse>"
).encode()
REPEATED_SCALAR = (
    f'<DescribeInstancesResponse xmlns="{_EC2_NS}"><requestId>0f3e-2</requestId><reservationSet><item>'
    "<reservationId>r-1</reservationId><ownerId>444444444444</ownerId><instancesSet><item>"
    "<instanceId>i-0123456789abcdef0</instanceId><instanceType>t3.micro</instanceType>"
    "<instanceType>{{ lookup('pipe', 'id') }}</instanceType></item></instancesSet></item></reservationSet>"
    "</DescribeInstancesResponse>"
).encode()
# an answer meant for another account (a proxy or cache keyed on the wrong thing): genuine in shape
OTHER_OWNER = (
    f'<DescribeInstancesResponse xmlns="{_EC2_NS}"><requestId>0f3e-3</requestId><reservationSet><item>'
    "<reservationId>r-2</reservationId><ownerId>111111111111</ownerId><instancesSet><item>"
    "<instanceId>i-0123456789abcdef0</instanceId><instanceType>t3.micro</instanceType>"
    "<privateIpAddress>10.9.9.9</privateIpAddress></item></instancesSet></item></reservationSet>"
    "</DescribeInstancesResponse>"
).encode()

# addresses no EC2 instance has: as the default ansible_host they would reach the controller
LOOPBACK_ADDRESS = OTHER_OWNER.replace(b"111111111111", b"444444444444").replace(b"10.9.9.9", b"127.0.0.1")
NAME_FOR_ADDRESS = OTHER_OWNER.replace(b"111111111111", b"444444444444").replace(
    b"<privateIpAddress>10.9.9.9</privateIpAddress>", b"<ipAddress>localhost</ipAddress>"
)
# the same answer without the owner AWS always names: it cannot be checked, so it is not trusted
NO_OWNER = OTHER_OWNER.replace(b"<ownerId>111111111111</ownerId>", b"")


@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        ("endless", ENDLESS, "NextToken"),
        ("repeated", REPEATED_SCALAR, "instance_type"),
        ("other-owner", OTHER_OWNER, "reservation of 111111111111, not of account 444444444444"),
        ("loopback", LOOPBACK_ADDRESS, "private_ip_address '127.0.0.1', not an instance's address"),
        ("not-an-address", NAME_FOR_ADDRESS, "public_ip_address 'localhost', not an instance's address"),
        ("no-owner", NO_OWNER, "a reservation with no OwnerId"),
    ],
    ids=[
        "endless-next-token",
        "repeated-scalar",
        "another-accounts-reservation",
        "loopback-address",
        "name-for-an-address",
        "reservation-without-owner",
    ],
)
def test_an_ec2_shaped_answer_that_pages_forever_or_repeats_a_value_fails_that_region_only(
    kind, body, words, stand_in, fleet, faults, write_inventory
):
    faults.set_faults([describe_instances_fault(kind, body, content_type="text/xml;charset=UTF-8")])
    result = run(write_inventory, stand_in, config())
    assert result.rc == 0, result.stderr
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [
        ("444444444444", "ap-southeast-2", "NotAnAwsResponse")
    ], errors
    assert words in errors[0]["message"]
    seen = hosts_by_account_region(result)
    assert ("444444444444", "us-east-1") in seen and ("111111111111", "us-east-1") in seen
    assert ("444444444444", "ap-southeast-2") not in seen
    assert "i-0123456789abcdef0" not in json.dumps(result.hostvars)
    if kind == "endless":  # the second call with the same token is refused: two calls, not a loop
        assert faults.calls[("DescribeInstances", "444444444444", "ap-southeast-2")] == 2


def _forged(owner: str, instance_id: str, zone: str) -> bytes:
    """A genuine-looking DescribeInstances answer of ``owner`` listing ``instance_id`` in ``zone``,
    launched long ago (it would keep a contested name) and with a loopback address."""
    return (
        f'<DescribeInstancesResponse xmlns="{_EC2_NS}"><requestId>0f3e-4</requestId><reservationSet><item>'
        f"<reservationId>r-4</reservationId><ownerId>{owner}</ownerId><instancesSet><item>"
        f"<instanceId>{instance_id}</instanceId><instanceType>t3.micro</instanceType>"
        "<launchTime>2001-01-01T00:00:00.000Z</launchTime>"
        f"<placement><availabilityZone>{zone}</availabilityZone></placement>"
        "<privateIpAddress>10.9.9.9</privateIpAddress></item></instancesSet></item></reservationSet>"
        "</DescribeInstancesResponse>"
    ).encode()


@pytest.mark.parametrize(
    ("forged_for", "copied_from", "zone", "failed", "words", "extra"),
    [
        (
            ("444444444444", "ap-southeast-2"),
            ("444444444444", "us-east-1"),
            "us-east-1a",
            {("444444444444", "ap-southeast-2")},
            "in availability zone 'us-east-1a', not a zone of region ap-southeast-2",
            "",
        ),
        (
            ("444444444444", "ap-southeast-2"),
            ("444444444444", "us-east-1"),
            "ap-southeast-2a",
            {("444444444444", "ap-southeast-2"), ("444444444444", "us-east-1")},
            "lists too: instance ids are unique in AWS",
            "",
        ),
        (
            ("333333333333", "eu-west-1"),
            ("444444444444", "eu-west-1"),
            "eu-west-1b",
            {("333333333333", "eu-west-1"), ("444444444444", "eu-west-1")},
            "lists too: instance ids are unique in AWS",
            "scan_processes: 2\n",
        ),
    ],
    ids=["another-regions-zone", "same-id-in-two-regions", "same-id-in-two-accounts-two-processes"],
)
def test_an_answer_meant_for_another_region_or_account_fails_instead_of_taking_an_instances_name(
    forged_for, copied_from, zone, failed, words, extra, stand_in, fleet, faults, write_inventory
):
    """A proxy or cache keyed on the wrong thing answers one account-region with an instance of
    another (same owner id, well-formed). Before, the copy, launched earlier, took the genuine
    instance's name (its instance id) with the proxy's address, the genuine one became
    ``<id>_<id>``, and the run listed no failure."""
    victim = next(f for f in fleet if (f["account"], f["region"]) == copied_from)
    iid = victim["instance_id"]
    account, region = forged_for
    faults.set_faults(
        [
            Fault(
                code="copied",
                action="DescribeInstances",
                account=account,
                region=region,
                body=_forged(account, iid, zone),
                content_type="text/xml;charset=UTF-8",
            )
        ]
    )
    result = run(write_inventory, stand_in, config(extra))
    assert result.rc == 0, result.stderr
    errors = result.all_vars["crossaccount_errors"]
    assert {(e["account_id"], e["region"]) for e in errors} == failed, errors
    assert {e["code"] for e in errors} == {"NotAnAwsResponse"}
    assert all(words in e["message"] for e in errors), errors
    assert not any(h.startswith(f"{iid}_") for h in result.hostvars), sorted(result.hostvars)
    assert "10.9.9.9" not in json.dumps(result.hostvars)
    if copied_from not in failed:
        assert result.hostvars[iid]["region"] == copied_from[1]
        assert result.hostvars[iid]["account_id"] == copied_from[0]
    assert not failed & hosts_by_account_region(result)


def test_a_refused_name_of_any_length_is_one_bounded_warning_line(stand_in, fleet, faults, write_inventory):
    """A proxy's answer is not held to AWS's 256-character tag values: a Name tag of 200,000
    characters, refused as a hostname, is shown bounded in one warning line; the host keeps its
    instance id and its tag as written."""
    long_name = "web." * 50_000 + "localhost"
    body = OTHER_OWNER.replace(b"111111111111", b"444444444444").replace(
        b"</privateIpAddress>",
        f"</privateIpAddress><tagSet><item><key>Name</key><value>{long_name}</value></item></tagSet>".encode(),
    )
    faults.set_faults([describe_instances_fault("long", body, content_type="text/xml;charset=UTF-8")])
    result = run(write_inventory, stand_in, config("hostnames: [tag:Name, instance-id]\n"))
    assert result.rc == 0, result.stderr
    assert result.hostvars["i-0123456789abcdef0"]["ec2_tags"]["Name"] == long_name
    lines = [ln for ln in ours(result.stderr) if "web.web." in ln]
    assert len(lines) == 1, [ln[:300] for ln in lines]
    assert len(lines[0]) < 1000, len(lines[0])
    assert "hostname 'web.web." in lines[0] and lines[0].endswith("the host is named i-0123456789abcdef0")


def test_an_answer_repeating_an_instance_kept_from_the_cache_fails_instead_of_taking_its_name(
    stand_in, fleet, faults, write_inventory, tmp_path
):
    """Run 1 fills the cache. In run 2 account 444444444444 is refused (its hosts are kept stale
    from the cache) and a proxy answers 333333333333 eu-west-1 with a copy of one of 444's
    instances (right owner, right zone, launched earlier, another address). Instance ids never
    move between accounts: the answer fails, that account-region keeps its own cached hosts, and
    the instance is listed once, under its owner, with its own address. Before, the copy was
    listed beside the stale original and took its name (the original became ``<id>_<id>``)."""
    victim = next(f for f in fleet if f["account"] == "444444444444")
    iid = victim["instance_id"]
    cached = config(f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\n")
    first = run(write_inventory, stand_in, cached)
    assert first.all_vars["crossaccount_errors"] == []
    before = {
        h: hv for h, hv in first.hostvars.items() if (hv["account_id"], hv["region"]) == ("333333333333", "eu-west-1")
    }
    assert before and iid in first.hostvars
    faults.set_faults(
        [
            Fault(code="AccessDenied", action="AssumeRole", account="444444444444", status=403),
            Fault(
                code="copied",
                action="DescribeInstances",
                account="333333333333",
                region="eu-west-1",
                body=_forged("333333333333", iid, "eu-west-1b"),
                content_type="text/xml;charset=UTF-8",
            ),
        ]
    )
    result = run(write_inventory, stand_in, cached, "--flush-cache")
    assert result.rc == 0, result.stderr
    errors = {(e["account_id"], e["region"]): e for e in result.all_vars["crossaccount_errors"]}
    assert set(errors) == {("444444444444", None), ("333333333333", "eu-west-1")}, errors
    refused = errors["333333333333", "eu-west-1"]
    assert refused["code"] == "NotAnAwsResponse"
    assert f"instance {iid}" in refused["message"] and "account 444444444444 region" in refused["message"]
    assert [h for h in result.hostvars if iid in h] == [iid]
    assert result.hostvars[iid]["account_id"] == "444444444444" and result.hostvars[iid]["crossaccount_stale"] is True
    assert "10.9.9.9" not in json.dumps(result.hostvars)
    after = {
        h: hv for h, hv in result.hostvars.items() if (hv["account_id"], hv["region"]) == ("333333333333", "eu-west-1")
    }
    assert set(after) == set(before) and all(hv["crossaccount_stale"] is True for hv in after.values())
