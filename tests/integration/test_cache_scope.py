"""The cache and stale-if-error of an Organizations file, through the real ansible-inventory CLI:
a snapshot made by another controller identity is neither served nor used for stale data, and an
account the file now excludes is not kept alive by a failed discovery (found by a review)."""

from __future__ import annotations

import pytest

from tests.integration.test_organizations import REGIONS, _by_instance, _ids_of, org, org_stand_in  # noqa: F401
from tests.support import cli
from tests.support.aws_env import aws_env


def _cache(tmp_path) -> str:
    return f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'c'}\n"


def test_excluded_account_is_not_resurrected_when_discovery_fails(org_stand_in, org, tmp_path):  # noqa: F811
    ids, ous = org["ids"], org["ous"]
    inventory = tmp_path / "org.ec2.yml"
    base = f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
  include_ous: ["{ous["prod"]}"]
"""
    inventory.write_text(base + _cache(tmp_path))
    first = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--flush-cache")
    assert first.rc == 0, first.stderr
    assert set(_by_instance(first)) == _ids_of(org, "prod-app", "prod-eu-app")

    # the operator now excludes prod-eu-app by id; that night Organizations is denied
    inventory.write_text(base + f'  exclude_accounts: ["{ids["prod-eu-app"]}"]\n' + _cache(tmp_path))
    org_stand_in.org_layer.deny = True
    try:
        second = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--flush-cache")
    finally:
        org_stand_in.org_layer.deny = False
    assert second.rc == 0, second.stderr
    hosts = _by_instance(second)
    errors = {e["account_id"]: e["code"] for e in second.all_vars["crossaccount_errors"]}
    # the excluded account is gone: no host, no failure
    assert {hv["account_id"] for hv in hosts.values()} == {ids["prod-app"]}
    assert ids["prod-eu-app"] not in errors, errors
    # the account discovery would still list keeps its hosts, stale (stale-if-error as before)
    assert set(hosts) == _ids_of(org, "prod-app")
    assert all(hv["crossaccount_stale"] for hv in hosts.values())
    assert errors[ids["prod-app"]] == "OrganizationDiscoveryFailed"
    assert "organization" in errors


@pytest.mark.parametrize("where", ["file", "environment"])
def test_cache_of_another_profile_is_neither_served_nor_kept_stale(org_stand_in, org, tmp_path, where):  # noqa: F811
    """organization: {} lists the accounts of the controller's own organization: the accounts depend
    on the profile (written in the file, or AWS_PROFILE when the file names none)."""
    ids = org["ids"]
    config = tmp_path / "aws-config"
    config.write_text(
        f"""[profile org-a]
role_arn = arn:aws:iam::{ids["master"]}:role/Runner
source_profile = base
[profile elsewhere]
role_arn = arn:aws:iam::{ids["explicit"]}:role/Runner
source_profile = base
"""
    )
    credentials = tmp_path / "aws-credentials"
    source = aws_env("")  # the stand-in's fake keys, in a profile instead of the environment
    credentials.write_text(
        f"[base]\naws_access_key_id = {source['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {source['AWS_SECRET_ACCESS_KEY']}\n"
    )
    inventory = tmp_path / "org.ec2.yml"
    text = f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
organization: {{}}
""" + _cache(tmp_path)

    def run(profile: str, *args: str) -> cli.Result:
        # no keys in the environment: botocore would use them before an AWS_PROFILE
        env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
        env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
        if where == "file":
            inventory.write_text(text + f"profile: {profile}\n")
        else:
            inventory.write_text(text)
            env["AWS_PROFILE"] = profile
        org_stand_in.faults.calls.clear()
        result = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--export", *args, extra_env=env)
        assert result.rc == 0, result.stderr
        return result

    first = run("org-a")
    org_a = {hv["account_id"] for hv in first.hostvars.values()}
    assert ids["prod-app"] in org_a, first.stderr
    assert sum(org_stand_in.faults.calls.values()) > 0
    again = run("org-a")  # the same identity: served from the cache, no AWS call
    assert sum(org_stand_in.faults.calls.values()) == 0
    assert again.hostvars == first.hostvars

    # another controller identity, whose Organizations discovery fails: org-a's accounts are not
    # kept alive as stale data (its own organization is another one)
    org_stand_in.org_layer.deny = True
    try:
        failed = run("elsewhere", "--flush-cache")
    finally:
        org_stand_in.org_layer.deny = False
    assert not failed.hostvars, f"org-a's hosts kept as stale data: {sorted(failed.hostvars)}"
    assert {e["account_id"] for e in failed.all_vars["crossaccount_errors"]} == {"organization"}

    # the cache holds org-a's snapshot again; another identity is not served from it
    run("org-a")
    other = run("elsewhere")
    assert sum(org_stand_in.faults.calls.values()) > 0, f"served from the cache of profile org-a: {len(other.hostvars)}"
    assert not org_a & {hv["account_id"] for hv in other.hostvars.values()}
