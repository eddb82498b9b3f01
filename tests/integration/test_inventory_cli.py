"""The core contract through the real ansible-inventory CLI against a seeded moto stand-in."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from tests.support import cli
from tests.support.fleet import ACCOUNTS, EVIL_TAG
from tests.support.inventories import example_inventory


@pytest.fixture(scope="module")
def listed(stand_in, fleet, tmp_path_factory):
    path = tmp_path_factory.mktemp("core") / "core.ec2.yml"
    path.write_text(example_inventory("hostnames: [tag:Name, instance-id]"))
    result = cli.inventory(str(path), stand_in.endpoint, "--list")
    assert result.rc == 0, result.stderr
    return result


def _by_instance(result):
    out = {}
    for host, hv in result.hostvars.items():
        assert hv["instance_id"] not in out, f"instance {hv['instance_id']} appears twice"
        out[hv["instance_id"]] = (host, hv)
    return out


def test_every_instance_exactly_once(listed, fleet):
    by_instance = _by_instance(listed)
    assert set(by_instance) == {i["instance_id"] for i in fleet}
    assert len(listed.hostvars) == len(fleet)


def test_groups_by_account_region_and_name(listed, fleet):
    by_instance = _by_instance(listed)
    for inst in fleet:
        host = by_instance[inst["instance_id"]][0]
        assert host in listed.group_hosts(f"account_{inst['account']}")
        assert host in listed.group_hosts("region_" + inst["region"].replace("-", "_"))
        if inst["name"]:
            assert host in listed.group_hosts("name_" + inst["name"].replace("-", "_"))
    children = listed.data["all"]["children"]
    for account in ACCOUNTS:
        assert f"account_{account}" in children
    assert "region_ap_southeast_2" in children and "name_web" in children
    web = [i for i in fleet if i["name"] == "web"]
    assert len(listed.group_hosts("name_web")) == len(web)


def test_shared_names_are_disambiguated_never_merged(listed, fleet):
    by_instance = _by_instance(listed)

    # the plugin's rule: the instance launched first keeps the name, ties by instance id. The fleet
    # is launched in account and region order, but moto's launch times have whole seconds: two
    # instances launched one after the other can share one (then the id decides) or not.
    def launched(i):
        return (datetime.fromisoformat(by_instance[i["instance_id"]][1]["launch_time"]), i["instance_id"])

    web = sorted((i for i in fleet if i["name"] == "web"), key=launched)
    names = [by_instance[i["instance_id"]][0] for i in web]
    assert names[0] == "web"
    assert names[1:] == [f"web_{i['instance_id']}" for i in web[1:]]
    assert "instances want the hostname 'web'" in listed.stderr
    untagged = [i for i in fleet if i["name"] is None][0]
    assert by_instance[untagged["instance_id"]][0] == untagged["instance_id"]


def test_host_variables(listed, fleet):
    by_instance = _by_instance(listed)
    for inst in fleet:
        _, hv = by_instance[inst["instance_id"]]
        assert hv["account_id"] == inst["account"]
        assert hv["region"] == inst["region"]
        assert hv["instance_type"] == inst["instance_type"]
        assert hv["state"]["name"] == inst["state"]
        assert hv["placement"]["availability_zone"].startswith(inst["region"])
        assert hv["private_ip_address"] == inst["private_ip_address"]
        assert hv["ansible_host"] == inst["private_ip_address"]
        assert isinstance(hv["launch_time"], str) and hv["launch_time"].startswith("20")
        assert "tags" not in hv
        assert hv["crossaccount_stale"] is False
        if inst["name"]:
            assert hv["ec2_tags"]["Name"] == inst["name"]
        if inst["account"] == "222222222222":
            assert hv["account_name"] == "development"
        if inst["account"] == "111111111111":
            assert "account_name" not in hv
    assert listed.all_vars["crossaccount_errors"] == []


def test_values_from_aws_stay_untrusted(listed, fleet):
    raw_hostvars = listed.raw["_meta"]["hostvars"]
    evil = [i for i in fleet if i["name"] == "db"][0]
    host = _by_instance(listed)[evil["instance_id"]][0]
    notes = raw_hostvars[host]["ec2_tags"]["Notes"]
    assert cli.is_unsafe(notes) and notes["__ansible_unsafe"] == EVIL_TAG
    assert cli.is_unsafe(raw_hostvars[host]["instance_id"])


def test_default_state_filter_and_custom_filters(stand_in, fleet, write_inventory):
    path = write_inventory(example_inventory("filters:\n  instance-state-name: running\n  tag:Environment: prod"))
    result = cli.inventory(path, stand_in.endpoint)
    assert result.rc == 0, result.stderr
    expected = {
        i["instance_id"]
        for i in fleet
        if i["state"] == "running" and i["account"] == "444444444444" and i["name"] is not None
    }
    assert {hv["instance_id"] for hv in result.hostvars.values()} == expected


def test_all_enabled_regions_by_default(stand_in, fleet, write_inventory, faults):
    path = write_inventory(example_inventory().replace("regions: [us-east-1, eu-west-1, ap-southeast-2]", ""))
    result = cli.inventory(path, stand_in.endpoint, "--list", "-v")
    assert result.rc == 0, result.stderr
    assert len(result.hostvars) == len(fleet)
    described = Counter(
        acct for (action, acct, _), n in faults.calls.items() if action == "DescribeRegions" for _ in range(n)
    )
    assert described == Counter({a: 1 for a in ACCOUNTS}), "DescribeRegions once per account"
    assumed = Counter(acct for (action, acct, _), n in faults.calls.items() if action == "AssumeRole" for _ in range(n))
    assert assumed == Counter({a: 1 for a in ACCOUNTS}), "each role assumed once"
    scanned_regions = {r for (action, _, r) in faults.calls if action == "DescribeInstances"}
    assert not any(r.startswith(("cn-", "us-gov-")) for r in scanned_regions), "other partitions skipped"
    assert "account-regions done" in result.stderr and "account-regions done" not in result.stdout


def test_compose_and_keyed_groups(stand_in, fleet, write_inventory):
    extra = """keyed_groups:
  - key: ec2_tags.Environment
    prefix: env
compose:
  ansible_host: instance_id
"""
    result = cli.inventory(write_inventory(example_inventory(extra)), stand_in.endpoint)
    assert result.rc == 0, result.stderr
    prod = {i["instance_id"] for i in fleet if i.get("name") and i["account"] == "444444444444"}
    assert {result.hostvars[h]["instance_id"] for h in result.group_hosts("env_prod")} == prod
    for hv in result.hostvars.values():
        assert hv["ansible_host"] == hv["instance_id"]


@pytest.mark.parametrize("written", ["$CMDB_ACCOUNTS_DIR/accounts.yml", "${CMDB_ACCOUNTS_DIR}/accounts.yml"])
def test_accounts_file_path_expands_environment_variables(stand_in, fleet, tmp_path, written):
    """accounts_file is documented as type path: ansible-core expands ~ and environment variables in
    such a value; the plugin read '$CMDB_ACCOUNTS_DIR' literally (refused as a file that does not
    exist). A relative path still resolves from the inventory file's directory (the rest of the suite)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "accounts.yml").write_text('- "333333333333"\n')
    path = tmp_path / "inventories" / "file.ec2.yml"
    path.parent.mkdir()
    path.write_text(
        f"plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts_file: {written}\nregions: [eu-west-1]\n"
    )
    result = cli.inventory(str(path), stand_in.endpoint, "--list", extra_env={"CMDB_ACCOUNTS_DIR": str(shared)})
    assert result.rc == 0, result.stderr
    assert "accounts_file" not in result.stderr, result.stderr
    expected = {i["instance_id"] for i in fleet if i["account"] == "333333333333" and i["region"] == "eu-west-1"}
    assert expected and {hv["instance_id"] for hv in result.hostvars.values()} == expected
