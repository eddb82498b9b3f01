"""default_groups through the real ansible-inventory CLI: only the kinds asked for are made, the
hosts, their names, their variables and the other groups stay the same, and the option applies to a
run served from the inventory cache (it shapes the output, not the scan)."""

from __future__ import annotations

import pytest

from tests.support import cli
from tests.support.fleet import Planned, seed
from tests.support.inventories import example_inventory

KINDS = {"account": "account_", "region": "region_", "name": "name_"}
EXTRA = """hostnames: [tag:Name, instance-id]
keyed_groups:
  - key: ec2_tags.Environment
    prefix: env
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache}
"""


def _default_groups_made(result) -> set[str]:
    return {g for g in result.data if g.startswith(tuple(KINDS.values()))}


@pytest.fixture(scope="module")
def runs(stand_in, fleet, tmp_path_factory):
    """The same file with default_groups [account, region] (scanned), then left out (every kind,
    from the cache) and [] (from the cache); the AWS calls of each run."""
    base = tmp_path_factory.mktemp("default-groups")
    path = base / "groups.ec2.yml"
    extra = EXTRA.format(cache=base / "cache")
    faults = stand_in.faults
    out = {}
    for label, line in (
        ("account,region", "default_groups: [account, region]\n"),
        ("all", ""),
        ("none", "default_groups: []\n"),
    ):
        path.write_text(example_inventory(extra + line))
        faults.reset()
        result = cli.inventory(str(path), stand_in.endpoint, "--list")
        assert result.rc == 0, result.stderr
        out[label] = (result, sum(faults.calls.values()))
    faults.reset()
    return out


def test_only_the_kinds_asked_for_are_made(runs, fleet):
    everything = runs["all"][0]
    made = _default_groups_made(everything)
    assert "name_web" in made and "account_111111111111" in made and "region_eu_west_1" in made
    lean = runs["account,region"][0]
    assert _default_groups_made(lean) == {g for g in made if not g.startswith("name_")}
    assert _default_groups_made(runs["none"][0]) == set()
    for group in _default_groups_made(lean):
        assert lean.group_hosts(group) == everything.group_hosts(group), group


def test_hosts_names_variables_and_other_groups_do_not_change(runs, fleet):
    everything = runs["all"][0]
    assert sorted(hv["instance_id"] for hv in everything.hostvars.values()) == sorted(i["instance_id"] for i in fleet)
    for label in ("account,region", "none"):
        result = runs[label][0]
        assert result.hostvars == everything.hostvars, f"{label}: the same hosts under the same names"
        for env in ("env_dev", "env_test", "env_prod", "env_shared"):
            assert result.group_hosts(env) and result.group_hosts(env) == everything.group_hosts(env), env
    # with no default group, a host no other group holds is in ungrouped, never dropped
    untagged = [h for h, hv in everything.hostvars.items() if not hv["ec2_tags"]]
    assert len(untagged) == 1
    assert runs["none"][0].group_hosts("ungrouped") == untagged


def test_the_option_applies_to_a_run_served_from_the_cache(runs):
    assert runs["account,region"][1] > 0, "the first run scanned"
    assert runs["all"][1] == 0 and runs["none"][1] == 0, "changing default_groups is served from the cache"


# accounts only this test uses, so their instances are invisible to the other tests; EMPTY has none
TAGGER, EMPTY = "919191919191", "929292929292"


def test_a_tag_never_names_a_host_like_a_default_group_that_is_not_made(stand_in, fleet, write_inventory):
    """With the account and name groups left out, a tag writer in a listed account still cannot
    name a host account_<a listed account> or name_<a Name>, though no such group exists. Names of
    the groups not made stay reserved, and the form is refused even where no source would make the
    group (an account with no instance, a Name nobody uses). The hosts are named by their instance
    ids, with a warning each."""
    planted = seed(
        stand_in.endpoint,
        [
            Planned(TAGGER, "us-east-1", "account_111111111111"),
            Planned(TAGGER, "us-east-1", "name_web"),
            Planned(TAGGER, "us-east-1", f"account_{EMPTY}"),
            Planned(TAGGER, "us-east-1", "name_nobody"),
        ],
    )
    text = example_inventory(
        "hostnames: [tag:Name, instance-id]\ndefault_groups: [region]\n", more_accounts=(TAGGER, EMPTY)
    )
    result = cli.inventory(write_inventory(text), stand_in.endpoint, "--list")
    assert result.rc == 0, result.stderr
    assert _default_groups_made(result) == {"region_us_east_1", "region_eu_west_1", "region_ap_southeast_2"}
    stderr = " ".join(result.stderr.split())
    for instance in planted:
        iid = instance["instance_id"]
        assert iid in result.hostvars, f"{instance['name']}: named by its instance id"
        assert result.hostvars[iid]["ec2_tags"]["Name"] == instance["name"], "and keeps its data"
        assert f"hostname '{instance['name']}' refused" in stderr
    assert not {i["name"] for i in planted} & set(result.hostvars)
    assert "web" in result.hostvars, "a Name that is not of that form still names its host"
