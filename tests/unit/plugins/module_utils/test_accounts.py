"""Unit tests for plugins/module_utils/accounts.py: the account list of a run (explicit, file and
Organizations combined, sharded). The accounts kept stale after a failed discovery: test_snapshot.py."""

from __future__ import annotations

import random

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.accounts import resolve_accounts
from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account, AccountSettings, shard_of
from tests.support.fleet import account_client as _client
from tests.support.settings import account_settings, aws_context, settings_from
from tests.support.stand_in import StandIn, aws_env


def _parse(raw, file_accounts=None) -> AccountSettings:
    return settings_from(raw, file_accounts=file_accounts).accounts


def test_without_organization_no_aws_call_explicit_wins_over_the_file():
    settings = _parse(
        {"role_name": "Disc", "accounts": [{"id": "222222222222", "name": "explicit", "regions": ["eu-west-1"]}]},
        file_accounts=[{"id": "222222222222", "name": "filed", "role_name": "Other"}, "111111111111"],
    )
    accounts, failures = resolve_accounts(None, settings)  # no context needed: nothing to discover
    assert failures == []
    assert [(a.id, a.name, a.role_arn, a.regions, a.source) for a in accounts] == [
        ("111111111111", None, "arn:aws:iam::111111111111:role/Disc", None, "accounts_file"),
        ("222222222222", "explicit", "arn:aws:iam::222222222222:role/Disc", ("eu-west-1",), "accounts"),
    ]


def test_shard_applies_to_the_combined_list():
    ids = [f"{n:012d}" for n in range(100000000000, 100000000040)]
    both = {}
    for k in (1, 2, 3):
        accounts, _ = resolve_accounts(None, _parse({"role_name": "Disc", "accounts": ids, "shard": f"{k}/3"}))
        both[k] = {a.id for a in accounts}
        assert all(shard_of(a, 3) == k for a in both[k])
    assert set().union(*both.values()) == set(ids)
    assert sum(len(v) for v in both.values()) == len(ids)


@pytest.fixture(scope="module")
def small_org():
    server = StandIn().start()
    try:
        mgmt = str(random.Random().randrange(10**11, 10**12))
        client = _client(server.endpoint, "organizations", mgmt)
        client.create_organization(FeatureSet="ALL")
        member = client.create_account(AccountName="member", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
        yield {"endpoint": server.endpoint, "mgmt": mgmt, "member": member}
    finally:
        server.stop()


def test_explicit_entry_overrides_what_organizations_found(small_org, monkeypatch):
    for key, value in aws_env(small_org["endpoint"]).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    mgmt, member = small_org["mgmt"], small_org["member"]
    settings = _parse(
        {
            "role_name": "Disc",
            "accounts": [
                {"id": member, "role_name": "Special", "regions": ["us-west-2"], "external_id": "xid-1"},
                "999999999999",
            ],
            "organization": {"role_arn": f"arn:aws:iam::{mgmt}:role/OrgReader"},
        }
    )
    lines: list[str] = []
    accounts, failures = resolve_accounts(aws_context(), settings, log=lines.append)
    assert failures == []
    by_id = {a.id: a for a in accounts}
    assert sorted(by_id) == sorted([mgmt, member, "999999999999"]), "each account once"
    assert by_id[member] == Account(
        id=member,
        role_arn=f"arn:aws:iam::{member}:role/Special",
        name="member",  # the explicit entry has no name: Organizations fills it
        external_id="xid-1",
        regions=("us-west-2",),
        source="accounts",
    )
    assert by_id[mgmt].source == "organization" and by_id[mgmt].name == "master"
    assert "AWS Organizations lists 2 active account(s) to scan" in lines[-1]


def test_settings_without_organization_discover_nothing():
    scanned = (Account("111111111111", "arn:aws:iam::111111111111:role/R"),)
    settings = account_settings(explicit=scanned, organization=None)
    assert resolve_accounts(None, settings) == (scanned, [])
