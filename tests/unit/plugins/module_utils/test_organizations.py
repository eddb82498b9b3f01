"""Unit tests for plugins/module_utils/organizations.py: which accounts AWS Organizations yields.

The selection logic is tested directly; ``discover_accounts`` runs its real AWS calls against a
moto stand-in of this module holding an organization with more accounts than one page."""

from __future__ import annotations

import random

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    AccountSettings,
    OrganizationSettings,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.organizations import (
    ORGANIZATION_FAILURE_ID,
    OrgAccount,
    account_status,
    discover_accounts,
    is_active,
    org_account,
    select_accounts,
    to_accounts,
)
from tests.support.fleet import account_client
from tests.support.settings import account_settings, aws_context
from tests.support.stand_in import StandIn, aws_env


@pytest.mark.parametrize(
    "entry, status, active",
    [
        ({"State": "ACTIVE", "Status": "ACTIVE"}, "ACTIVE", True),
        ({"Status": "ACTIVE"}, "ACTIVE", True),  # older answers (and moto) may only have Status
        ({"Status": "SUSPENDED"}, "SUSPENDED", False),
        ({"State": "SUSPENDED", "Status": "SUSPENDED"}, "SUSPENDED", False),
        ({"State": "PENDING_CLOSURE", "Status": "ACTIVE"}, "PENDING_CLOSURE", False),  # State wins
        ({"State": "PENDING_ACTIVATION"}, "PENDING_ACTIVATION", False),
        ({"State": "CLOSED"}, "CLOSED", False),
        ({"State": "active"}, "ACTIVE", True),
        ({}, "UNKNOWN", False),
    ],
)
def test_account_status(entry, status, active):
    assert account_status(entry) == status
    assert is_active(entry) is active


def test_org_account_keeps_id_name_status():
    assert org_account({"Id": "123456789012", "Name": "prod", "Status": "ACTIVE"}) == OrgAccount(
        "123456789012", "prod", "ACTIVE"
    )
    assert org_account({"Id": "123456789012", "Name": "", "State": "SUSPENDED"}).name is None


def test_select_accounts_filters_sorts_dedupes_and_says_why():
    listed = [
        OrgAccount("333333333333", "c", "ACTIVE"),
        OrgAccount("111111111111", "a", "ACTIVE"),
        OrgAccount("111111111111", "a", "ACTIVE"),  # an account under two include_ous roots
        OrgAccount("444444444444", "gone", "SUSPENDED"),
        OrgAccount("555555555555", None, "PENDING_CLOSURE"),
        OrgAccount("666666666666", "sandbox", "ACTIVE"),
        OrgAccount("777777777777", "noisy", "ACTIVE"),
        OrgAccount("888888888888", "both", "SUSPENDED"),
    ]
    lines: list[str] = []
    selected = select_accounts(
        listed,
        excluded_by_ou=["666666666666", "888888888888"],
        exclude_accounts=["777777777777"],
        log=lines.append,
    )
    assert [a.id for a in selected] == ["111111111111", "333333333333"]
    assert lines == [
        "crossaccount.aws.ec2: organization account 444444444444 (gone) skipped: it is SUSPENDED, not ACTIVE",
        "crossaccount.aws.ec2: organization account 555555555555 skipped: it is PENDING_CLOSURE, not ACTIVE",
        "crossaccount.aws.ec2: organization account 666666666666 (sandbox) skipped: in organization.exclude_ous",
        "crossaccount.aws.ec2: organization account 777777777777 (noisy) skipped: listed in "
        "organization.exclude_accounts",
        "crossaccount.aws.ec2: organization account 888888888888 (both) skipped: in organization.exclude_ous",
    ]


def test_select_accounts_says_why_in_one_bounded_line_whatever_the_organization_wrote():
    # an account name and state are written by whoever administers the account: a newline or an
    # escape sequence must not forge a line of -v output, and a long name is cut
    listed = [
        OrgAccount("111111111111", "prod\n[WARNING]: every account was scanned\x1b[2J", "SUSPENDED"),
        OrgAccount("222222222222", "x" * 5000, "CLOSED\r\nACTIVE"),
    ]
    lines: list[str] = []
    assert select_accounts(listed, log=lines.append) == []
    assert len(lines) == 2
    for line in lines:
        assert not any(ch in line for ch in "\n\r\x1b"), repr(line)
        assert len(line) < 400, len(line)
    assert lines[0].startswith("crossaccount.aws.ec2: organization account 111111111111 (prod [WARNING]")
    assert "[5000 characters in all]) skipped: it is CLOSED ACTIVE, not ACTIVE" in lines[1]


def test_to_accounts_uses_the_default_role_and_external_id():
    settings = account_settings(explicit=(), role_name="Discovery", external_id="ext-123", partition="aws-us-gov")
    accounts = to_accounts([OrgAccount("123456789012", "prod", "ACTIVE")], settings)
    assert accounts == (
        Account(
            id="123456789012",
            role_arn="arn:aws-us-gov:iam::123456789012:role/Discovery",
            name="prod",
            external_id="ext-123",
            regions=None,
            source="organization",
        ),
    )


# ---------------------------------------------------------------------------------------------
# against a stand-in


@pytest.fixture(scope="module")
def org():
    """root: the management account, 104 accounts (more than one ListAccounts page of 100), one
    of them suspended; OU big: 23 accounts (more than one ListAccountsForParent page of 20); OU
    big/nested: 2 accounts."""
    server = StandIn().start()
    try:
        mgmt = str(random.Random().randrange(10**11, 10**12))
        client = account_client(server.endpoint, "organizations", mgmt)
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        big = client.create_organizational_unit(ParentId=root, Name="big")["OrganizationalUnit"]["Id"]
        nested = client.create_organizational_unit(ParentId=big, Name="nested")["OrganizationalUnit"]["Id"]
        names: dict[str, str] = {}
        placed: dict[str, list[str]] = {"root": [mgmt], "big": [], "nested": []}
        for i in range(104):
            status = client.create_account(AccountName=f"acct-{i:03d}", Email=f"a{i}@example.com")
            account_id = status["CreateAccountStatus"]["AccountId"]
            names[account_id] = f"acct-{i:03d}"
            where = "big" if i < 23 else "nested" if i < 25 else "root"
            if where != "root":
                target = big if where == "big" else nested
                client.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=target)
            placed[where].append(account_id)
        suspended = placed["root"][-1]
        client.close_account(AccountId=suspended)
        yield {
            "endpoint": server.endpoint,
            "mgmt": mgmt,
            "ous": {"root": root, "big": big, "nested": nested},
            "names": names,
            "placed": placed,
            "suspended": suspended,
        }
    finally:
        server.stop()


@pytest.fixture
def ctx(org, monkeypatch):
    for key, value in aws_env(org["endpoint"]).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return aws_context()


def _settings(org, **organization) -> AccountSettings:
    organization.setdefault("role_arn", f"arn:aws:iam::{org['mgmt']}:role/OrgReader")
    return account_settings(explicit=(), role_name="Discovery", organization=OrganizationSettings(**organization))


def test_lists_every_active_account_across_pages(org, ctx):
    lines: list[str] = []
    accounts, failures = discover_accounts(ctx, _settings(org), lines.append)
    assert failures == []
    every = org["placed"]["root"] + org["placed"]["big"] + org["placed"]["nested"]
    expected = sorted(set(every) - {org["suspended"]})
    assert [a.id for a in accounts] == expected
    assert len(accounts) == 104  # 105 accounts, one suspended: two ListAccounts pages
    by_id = {a.id: a for a in accounts}
    assert by_id[org["mgmt"]].name == "master"
    for account_id, name in org["names"].items():
        if account_id != org["suspended"]:
            assert by_id[account_id].name == name
            assert by_id[account_id].role_arn == f"arn:aws:iam::{account_id}:role/Discovery"
            assert by_id[account_id].source == "organization"
    assert any(f"{org['suspended']} ({org['names'][org['suspended']]}) skipped: it is SUSPENDED" in x for x in lines)


def test_include_ous_is_recursive_and_paginated(org, ctx):
    accounts, failures = discover_accounts(ctx, _settings(org, include_ous=(org["ous"]["big"],)))
    assert failures == []
    assert [a.id for a in accounts] == sorted(org["placed"]["big"] + org["placed"]["nested"])


def test_exclude_ous_and_accounts(org, ctx):
    keep_out = org["placed"]["root"][1]
    settings = _settings(
        org, include_ous=(org["ous"]["root"],), exclude_ous=(org["ous"]["big"],), exclude_accounts=(keep_out,)
    )
    accounts, failures = discover_accounts(ctx, settings)
    assert failures == []
    assert [a.id for a in accounts] == sorted(set(org["placed"]["root"]) - {org["suspended"], keep_out})


def test_a_failed_call_is_one_failure_and_no_partial_list(org, ctx):
    settings = _settings(org, include_ous=(org["ous"]["big"], "ou-zz99-nosuchou1"))
    accounts, failures = discover_accounts(ctx, settings)
    assert accounts == ()
    assert len(failures) == 1
    failure = failures[0]
    assert isinstance(failure, ScanFailure)
    assert failure.account_id == ORGANIZATION_FAILURE_ID and failure.region is None
    assert failure.code == "ParentNotFoundException"
    assert failure.message.startswith("account discovery through AWS Organizations failed")
    assert "ListAccountsForParent" in failure.message
    assert "include_ous" in failure.hint


def test_no_organization_setting_no_call():
    assert discover_accounts(None, account_settings(explicit=(), organization=None)) == ((), [])
