"""The cache and stale-if-error of an Organizations file, through the real ansible-inventory CLI:
an account the file now excludes is not kept alive by a failed discovery (found by a review)."""

from __future__ import annotations

from tests.integration.test_organizations import REGIONS, _by_instance, _ids_of, org, org_stand_in  # noqa: F401
from tests.support import cli


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
