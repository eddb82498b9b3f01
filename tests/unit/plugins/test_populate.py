"""The inventory plugin's _populate on a real ansible-core InventoryData: hosts and groups kept apart
whatever the order in which sources, default groups, keyed groups and constructed groups add them.

It also guards the ansible-core interfaces the hostnames code relies on (listed in docs/design.md):
Constructable's _set_composite_vars/_add_host_to_composed_groups/_add_host_to_keyed_groups write
to ``self.inventory`` (swapped for a scratch InventoryData), InventoryData.current_source/hosts/
groups, Host.get_groups/get_vars and Group.child_groups. If one of them changes, these fail."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.crossaccount.aws.plugins.inventory.ec2 import InventoryModule
from ansible_collections.crossaccount.aws.plugins.module_utils.constants import DEFAULT_GROUP_KINDS
from ansible_collections.crossaccount.aws.plugins.module_utils.hostnames import parse_hostnames

VICTIM, ATTACKER = "111111111111", "222222222222"
WEB, DB, OTHER = "i-0000000000000a001", "i-0000000000000a002", "i-0000000000000b001"

OPTIONS = {"strict": False, "compose": {}, "groups": {}, "keyed_groups": [], "leading_separator": True}


class FakeSnapshot:
    def __init__(self, records):
        self._records = records
        self.errors = []
        self.scanned_at = "2024-06-01T00:00:00+00:00"

    def records(self):
        return iter(self._records)

    def stale_for(self, error):
        return None


def record(iid, account, name=None, launch="2024-01-01T00:00:00.000Z", **tags):
    tags = dict(tags)
    if name is not None:
        tags["Name"] = name
    return {
        "instance_id": iid,
        "account_id": account,
        "region": "us-east-1",
        "launch_time": launch,
        "private_ip_address": "10.0.0.1",
        "ec2_tags": tags,
        "crossaccount_stale": False,
        "crossaccount_scanned_at": "2024-06-01T00:00:00+00:00",
    }


def trusted(value):
    """Expressions as core hands them to a plugin from its configuration file: trusted templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def populate(
    inventory,
    records,
    hostnames=("tag:Name", "instance-id"),
    source="/inv/a.ec2.yml",
    default_groups=DEFAULT_GROUP_KINDS,
    default_groups_written=False,
    **options,
):
    plugin = InventoryModule()
    values = dict(OPTIONS, **{k: trusted(v) for k, v in options.items()})
    plugin.get_option = values.__getitem__
    plugin.templar = Templar(loader=DataLoader())
    plugin._vars = {}
    plugin.inventory = inventory
    inventory.current_source = source
    warnings = []
    from ansible_collections.crossaccount.aws.plugins.inventory import ec2

    original = ec2.display.warning
    ec2.display.warning = lambda msg, *a, **k: warnings.append(msg)
    try:
        plugin._populate(
            SimpleNamespace(
                output=SimpleNamespace(
                    hostnames=parse_hostnames(list(hostnames)),
                    hostvars_prefix=None,
                    hostvars_suffix=None,
                    default_groups=tuple(default_groups),
                    default_groups_written=default_groups_written,
                ),
                ssm=None,
            ),
            FakeSnapshot(records),
        )
    finally:
        ec2.display.warning = original
    return warnings


def members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def static_source(inventory):
    """What an INI source listed before this one adds."""
    inventory.current_source = "/inv/static.ini"
    inventory.add_group("webservers")
    inventory.add_host("bastion01", group="webservers")
    inventory.set_variable("bastion01", "static_marker", "yes")


def test_tags_equal_to_groups_hosts_and_localhost_fall_back():
    inventory = InventoryData()
    static_source(inventory)
    records = [
        record(WEB, VICTIM, "web", Environment="prod"),
        record(OTHER, ATTACKER, "webservers", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b002", ATTACKER, "bastion01", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b003", ATTACKER, "env_prod", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b004", ATTACKER, "localhost", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b005", ATTACKER, f"account_{VICTIM}", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b006", ATTACKER, WEB, launch="2025-01-01T00:00:00.000Z"),
    ]
    warnings = populate(inventory, records, keyed_groups=[{"key": "ec2_tags.Environment", "prefix": "env"}])
    assert set(inventory.hosts) == {"bastion01", "web", OTHER} | {f"i-0000000000000b00{i}" for i in range(2, 7)}
    assert inventory.localhost is None, "no inventory host became the controller"
    assert members(inventory, "webservers") == ["bastion01"]
    assert members(inventory, f"account_{VICTIM}") == ["web"]
    assert members(inventory, "env_prod") == ["web"]
    assert inventory.hosts["bastion01"].get_vars().get("instance_id") is None
    assert not any(g.child_groups for name, g in inventory.groups.items() if name != "all")
    assert len([w for w in warnings if f"of account {ATTACKER}: hostname" in w]) == 6


def test_groups_this_source_creates_never_take_a_host_name():
    inventory = InventoryData()
    static_source(inventory)
    records = [
        record(WEB, VICTIM, "web", Role="bastion01"),
        record(DB, VICTIM, "db", Role="localhost"),
        record(OTHER, ATTACKER, "x", Role=WEB),
    ]
    warnings = populate(
        inventory,
        records,
        keyed_groups=[{"key": "ec2_tags.Role", "prefix": "", "separator": ""}],
        leading_separator=False,
        groups={"localhost": "true"},
    )
    for name in ("bastion01", "localhost", WEB):
        assert name not in inventory.groups, name
    assert sorted(inventory.hosts) == ["bastion01", "db", "web", "x"]
    assert any("group 'bastion01' not created" in w for w in warnings)
    assert any("group 'localhost' not created" in w for w in warnings)
    assert members(inventory, "webservers") == ["bastion01"]


def test_a_constructed_group_wins_over_a_tag_and_groups_see_the_final_name():
    inventory = InventoryData()
    records = [
        record(WEB, VICTIM, "web", Tier="critical"),
        record(OTHER, ATTACKER, "critical", launch="2020-01-01T00:00:00.000Z"),  # older, still refused
    ]
    populate(
        inventory,
        records,
        groups={
            "critical": "ec2_tags.Tier | default('') == 'critical'",
            "named_by_id": "inventory_hostname.startswith('i-')",
        },
        compose={"upper": "ec2_tags.Name | upper"},
        keyed_groups=[{"key": "ec2_tags.Tier | default('none')", "prefix": "tier", "parent_group": "tiers"}],
    )
    assert members(inventory, "critical") == ["web"]
    assert OTHER in inventory.hosts and "critical" not in inventory.hosts
    assert members(inventory, "named_by_id") == [OTHER], "groups saw the final name"
    assert inventory.hosts["web"].get_vars()["upper"] == "WEB"
    assert sorted(g.name for g in inventory.groups["tiers"].child_groups) == ["tier_critical", "tier_none"]
    assert inventory.hosts["web"].get_vars()["inventory_file"] == "/inv/a.ec2.yml"


@pytest.mark.parametrize("first_is_victim", [True, False])
def test_two_sources_in_either_order(first_is_victim):
    victim = [record(WEB, VICTIM, "web", Environment="prod")]
    attacker = [record(OTHER, ATTACKER, "name_web", Environment="name_web")]
    keyed = [{"key": "ec2_tags.Environment", "prefix": "env"}]
    inventory = InventoryData()
    order = [(victim, "/inv/a.ec2.yml"), (attacker, "/inv/b.ec2.yml")]
    for records, source in order if first_is_victim else reversed(order):
        populate(inventory, records, source=source, keyed_groups=keyed)
    assert members(inventory, "name_web") == ["web"]
    assert "name_web" not in inventory.hosts
    assert OTHER in inventory.hosts
    assert not any(g.child_groups for name, g in inventory.groups.items() if name != "all")


def test_the_same_instance_from_two_overlapping_sources_keeps_one_name():
    inventory = InventoryData()
    populate(inventory, [record(WEB, VICTIM, "web")], source="/inv/a.ec2.yml")
    warnings = populate(inventory, [record(WEB, VICTIM, "web")], source="/inv/b.ec2.yml")
    assert sorted(inventory.hosts) == ["web"] and warnings == []


def test_every_documented_example_of_hostnames_parses():
    import yaml

    from ansible_collections.crossaccount.aws.plugins.inventory import ec2

    examples = [yaml.safe_load(chunk) for chunk in ec2.EXAMPLES.split("\n\n")]  # one example per paragraph
    found = [doc["hostnames"] for doc in examples if isinstance(doc, dict) and "hostnames" in doc]
    assert len(found) >= 2
    for value in found:
        assert parse_hostnames(value)


def test_a_keyed_group_named_like_an_instance_id_is_not_created_and_renames_nothing():
    inventory = InventoryData()
    records = [record(WEB, VICTIM), record(DB, VICTIM, "db")]
    warnings = populate(
        inventory,
        records,
        keyed_groups=[{"key": "instance_id", "prefix": "", "separator": ""}],
        leading_separator=False,
    )
    assert sorted(inventory.hosts) == sorted(["db", WEB])
    assert WEB not in inventory.groups and DB not in inventory.groups
    assert not [w for w in warnings if "refused" in w]


@pytest.mark.parametrize(
    "kinds",
    [(), ("account",), ("region",), ("name",), ("account", "region"), ("region", "name"), DEFAULT_GROUP_KINDS],
)
def test_default_groups_makes_only_the_kinds_asked_and_renames_no_host(kinds):
    """The groups made follow default_groups; the hosts, their names and every other group do not.
    Names of the kinds not made stay reserved: a tag never names a host account_<id> or name_<x>."""
    records = [
        record(WEB, VICTIM, "web", Environment="prod"),
        record(DB, VICTIM, "db"),
        record(OTHER, ATTACKER, f"account_{VICTIM}", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b002", ATTACKER, "name_web", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b003", ATTACKER, "region_us_east_1", launch="2025-01-01T00:00:00.000Z"),
        record("i-0000000000000b004", ATTACKER),
    ]
    keyed = [{"key": "ec2_tags.Environment", "prefix": "env"}]
    everything = InventoryData()
    populate(everything, records, keyed_groups=keyed)
    inventory = InventoryData()
    warnings = populate(inventory, records, default_groups=kinds, keyed_groups=keyed)

    assert sorted(inventory.hosts) == sorted(everything.hosts), "the same hosts under the same names"
    assert sorted(inventory.hosts) == sorted(["web", "db", OTHER] + [f"i-0000000000000b00{i}" for i in (2, 3, 4)])
    assert len([w for w in warnings if f"of account {ATTACKER}: hostname" in w]) == 3
    prefixes = {"account": "account_", "region": "region_", "name": "name_"}
    made = {g for g in inventory.groups if g.startswith(tuple(prefixes.values()))}
    expected = {g for g in everything.groups if g.startswith(tuple(prefixes[k] for k in kinds))}
    assert made == expected
    for group in made:
        assert members(inventory, group) == members(everything, group)
    if "account" in kinds:
        assert members(inventory, f"account_{VICTIM}") == ["db", "web"]
    if "name" in kinds:
        assert members(inventory, "name_web") == ["web"], "a tag equal to a name_ group never joins it"
    assert members(inventory, "env_prod") == ["web"], "keyed_groups are made whatever default_groups says"
    assert not any(g.child_groups for name, g in inventory.groups.items() if name != "all")


@pytest.mark.parametrize(
    ("written", "kinds", "warned"),
    [
        (False, DEFAULT_GROUP_KINDS, True),
        (True, DEFAULT_GROUP_KINDS, False),  # kept on purpose: no warning
        (True, ("account", "region"), False),
    ],
)
def test_many_name_groups_are_named_with_the_fix_unless_the_file_chose(monkeypatch, written, kinds, warned):
    from ansible_collections.crossaccount.aws.plugins.inventory import ec2

    monkeypatch.setattr(ec2, "MANY_NAME_GROUPS", 3)
    records = [record(f"i-00000000000000{i:03d}", VICTIM, f"host-{i}") for i in range(3)]
    warnings = populate(InventoryData(), records, default_groups=kinds, default_groups_written=written)
    found = [w for w in warnings if "name_ groups" in w]
    assert len(found) == (1 if warned else 0), warnings
    if warned:
        assert found[0].startswith("crossaccount.aws.ec2: /inv/a.ec2.yml: 3 name_ groups"), "names the source"
        assert "default_groups: [account, region]" in found[0]
    fewer = populate(InventoryData(), records[:2], default_groups=kinds, default_groups_written=written)
    assert not [w for w in fewer if "name_ groups" in w], "below the threshold: quiet"


@pytest.mark.parametrize("first_is_lean", [True, False])
@pytest.mark.parametrize("taken", ["name_web", f"account_{VICTIM}", "region_us_east_1"])
def test_a_default_group_name_never_names_a_host_whatever_the_sources_make(first_is_lean, taken):
    """Source A makes no default group (default_groups: []); source B is an attacker account whose
    tag wants the name of A's would-be group. In either order the attacker's host is named by its
    instance id and A's hosts keep their names: names never depend on default_groups."""
    lean = [record(WEB, VICTIM, "web")]
    attacker = [record(OTHER, ATTACKER, taken, launch="2020-01-01T00:00:00.000Z")]  # older, still refused
    attacker[0]["region"] = "eu-west-1"  # B's own groups are never the name it wants: only A's would be
    inventory = InventoryData()
    order = [(lean, "/inv/a.ec2.yml", ()), (attacker, "/inv/b.ec2.yml", DEFAULT_GROUP_KINDS)]
    warnings = []
    for records, source, kinds in order if first_is_lean else reversed(order):
        warnings += populate(inventory, records, source=source, default_groups=kinds)
    assert sorted(inventory.hosts) == sorted(["web", OTHER])
    assert taken not in inventory.hosts
    refusals = [w for w in warnings if "refused" in w]
    assert len(refusals) == 1 and f"instance {OTHER} of account {ATTACKER}" in refusals[0], warnings
    assert "starts like a default group name" in refusals[0]


# -- names across sources: the same contest as within one source ------------------------------

EARLY, LATE = "2023-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"


def _names(inventory):
    return {h.get_vars()["instance_id"]: name for name, h in inventory.hosts.items()}


@pytest.mark.parametrize("sandbox_first", [True, False])
def test_a_tag_in_one_file_never_takes_a_name_from_a_host_of_another_file(sandbox_first):
    """The longest-running instance keeps a Name whatever the order of the files (one file per
    business unit): a newcomer in a sandbox account never takes web01 from prod."""
    prod = ([record(WEB, VICTIM, "web01", launch=EARLY)], "/inv/20-prod.ec2.yml")
    sandbox = ([record(OTHER, ATTACKER, "web01", launch=LATE)], "/inv/10-sandbox.ec2.yml")
    inventory = InventoryData()
    warnings = []
    for records, source in [sandbox, prod] if sandbox_first else [prod, sandbox]:
        warnings += populate(inventory, records, source=source)
    assert _names(inventory) == {WEB: "web01", OTHER: f"web01_{OTHER}"}
    assert inventory.hosts["web01"].get_vars()["account_id"] == VICTIM
    assert members(inventory, "name_web01") == sorted(["web01", f"web01_{OTHER}"])
    assert any(OTHER in w and "web01" in w for w in warnings), warnings
    if sandbox_first:  # the sandbox host was renamed, with its variables and groups
        moved = inventory.hosts[f"web01_{OTHER}"]
        assert moved.get_vars()["account_id"] == ATTACKER
        assert sorted(g.name for g in moved.get_groups()) == sorted(
            [f"account_{ATTACKER}", "region_us_east_1", "name_web01"]
        )


@pytest.mark.parametrize("sandbox_first", [True, False])
def test_a_tag_in_one_file_never_takes_the_name_aws_gives_a_host_of_another_file(sandbox_first):
    dns = "ip-10-0-0-1.ec2.internal"
    victim = dict(record(WEB, VICTIM, "web", launch=LATE), private_dns_name=dns)
    prod = ([victim], "/inv/20-prod.ec2.yml", ("private-dns-name",))
    sandbox = ([record(OTHER, ATTACKER, dns, launch=EARLY)], "/inv/10-sandbox.ec2.yml", ("tag:Name", "instance-id"))
    inventory = InventoryData()
    for records, source, hostnames in [sandbox, prod] if sandbox_first else [prod, sandbox]:
        populate(inventory, records, source=source, hostnames=hostnames)
    assert inventory.hosts[dns].get_vars()["instance_id"] == WEB
    assert _names(inventory)[OTHER] == OTHER  # a tag never gets a name AWS gives: refused, not suffixed


def test_the_same_name_from_two_overlapping_files_stays_one_host_and_an_earlier_newcomer_yields():
    inventory = InventoryData()
    populate(inventory, [record(WEB, VICTIM, "web", launch=LATE)], source="/inv/a.ec2.yml")
    populate(
        inventory,
        [record(WEB, VICTIM, "web", launch=LATE), record(DB, VICTIM, "web", launch=EARLY)],
        source="/inv/b.ec2.yml",
    )
    assert _names(inventory) == {WEB: "web", DB: f"web_{DB}"}


# -- groups the file fixes are reserved even when empty this run -------------------------------

CONFIGURED = {
    "groups": {"critical": "ec2_tags.Tier | default('') == 'critical'"},
    "keyed_groups": [
        {"key": "ec2_tags.Environment", "prefix": "env"},
        {"key": "ec2_tags.Team", "prefix": "team", "separator": "-", "parent_group": "teams"},
    ],
}


@pytest.mark.parametrize("name", ["critical", "env_prod", "env_x", "team-a", "teams"])
def test_a_tag_never_names_a_host_like_a_group_the_file_fixes_that_is_empty_this_run(name):
    """The prod account failed this run: no host is in `critical`, `env_prod`, `team-a`; the
    sandbox instance tagged like them is named by its instance id (the group keeps meaning the
    group for the next --limit)."""
    inventory = InventoryData()
    warnings = populate(inventory, [record(OTHER, ATTACKER, name)], **CONFIGURED)
    assert name not in inventory.hosts and OTHER in inventory.hosts
    assert any(name in w and OTHER in w for w in warnings), warnings


@pytest.mark.parametrize("name", ["critical-1", "envoy", "env", "team_a", "Env_prod"])
def test_names_merely_near_a_fixed_group_stay(name):
    inventory = InventoryData()
    populate(inventory, [record(OTHER, ATTACKER, name)], **CONFIGURED)
    assert name in inventory.hosts


def test_without_prefix_and_leading_separator_keyed_names_reserve_no_start():
    inventory = InventoryData()
    keyed = [{"key": "ec2_tags.Role", "prefix": "", "separator": ""}]
    populate(inventory, [record(OTHER, ATTACKER, "app")], keyed_groups=keyed, leading_separator=False)
    assert "app" in inventory.hosts


@pytest.mark.parametrize("fixing_file_first", [True, False])
def test_a_group_another_file_fixes_is_reserved_in_both_orders(fixing_file_first):
    fixing = ([record(WEB, VICTIM, "db1", Environment="prod")], "/inv/20-prod.ec2.yml", CONFIGURED)
    plain_file = (
        [record(OTHER, ATTACKER, "critical"), record(DB, ATTACKER, "env_staging", launch=LATE)],
        "/inv/10-sandbox.ec2.yml",
        {},
    )
    inventory = InventoryData()
    for records, source, options in [fixing, plain_file] if fixing_file_first else [plain_file, fixing]:
        populate(inventory, records, source=source, **options)
    assert _names(inventory) == {WEB: "db1", OTHER: OTHER, DB: DB}
    assert "critical" not in inventory.hosts and "env_staging" not in inventory.hosts
    assert members(inventory, "env_prod") == ["db1"]


def test_sources_share_what_the_plugin_remembers_through_ansible_cores_proxies():
    """ansible-core hands each source's plugin a new proxy of the one InventoryData (a wrapt
    ObjectProxy in 2.19+); what this plugin remembers of the names it gave is keyed by the
    InventoryData, so it outlives the proxy of the source that wrote it."""
    import gc

    from ansible.inventory import manager

    from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import source_names

    inventory = InventoryData()
    proxy = getattr(manager, "_InventoryDataWrapper", None)
    plugin = SimpleNamespace(trusted_by_default=False)
    first = proxy(inventory, target_plugin=plugin, origin=None) if proxy else inventory
    populate(first, [record(WEB, VICTIM, "web01", launch=EARLY)], source="/inv/20-prod.ec2.yml")
    del first
    gc.collect()
    second = proxy(inventory, target_plugin=plugin, origin=None) if proxy else inventory
    assert "web01" in source_names(second).claims
    populate(second, [record(OTHER, ATTACKER, "web01", launch=LATE)], source="/inv/30-sandbox.ec2.yml")
    assert _names(inventory) == {WEB: "web01", OTHER: f"web01_{OTHER}"}


def test_a_renamed_host_keeps_only_its_own_group_memberships():
    """A host of an earlier source that loses its name keeps its variables and the groups it was
    put in, not a direct membership of their parent groups (keyed_groups parent_group)."""
    keyed = [{"key": "ec2_tags.Team", "prefix": "team", "parent_group": "teams"}]
    inventory = InventoryData()
    populate(inventory, [record(OTHER, ATTACKER, "web01", launch=LATE, Team="a")], keyed_groups=keyed)

    def direct(name):
        return sorted(g.name for g in inventory.groups.values() if name in g.host_names)

    before = direct("web01")
    populate(inventory, [record(WEB, VICTIM, "web01", launch=EARLY)], source="/inv/b.ec2.yml")
    moved = f"web01_{OTHER}"
    assert direct(moved) == before and "team_a" in before
    assert inventory.hosts[moved].get_vars()["ec2_tags"] == {"Name": "web01", "Team": "a"}
    assert direct("web01") == sorted([f"account_{VICTIM}", "region_us_east_1", "name_web01"])


def _children(inventory, group):
    return sorted(g.name for g in inventory.groups[group].child_groups) if group in inventory.groups else []


def test_a_templated_parent_group_takes_no_keyed_group_into_a_fixed_one():
    """keyed_groups[1]'s parent_group is a template a tag writer fills: rendered as `tiers` (the
    fixed parent of keyed_groups[0]), `critical` (a groups key) or `account_<victim>` (a default
    group), its keyed group is not made a child of any of them; keyed_groups[0]'s groups still are
    children of `tiers`, and a new name still becomes a parent."""
    inventory = InventoryData()
    records = [
        record(WEB, VICTIM, "web", Tier="prod"),
        record(OTHER, ATTACKER, "sandbox", Team="tiers"),
        record("i-0000000000000c001", ATTACKER, "sandbox2", Team="critical"),
        record("i-0000000000000c002", ATTACKER, "sandbox3", Team=f"account_{VICTIM}"),
        record("i-0000000000000c003", ATTACKER, "sandbox4", Team="web_team"),
    ]
    warnings = populate(
        inventory,
        records,
        groups={"critical": f"account_id == '{VICTIM}'"},
        keyed_groups=[
            {"key": "ec2_tags.Tier | default('none')", "prefix": "tier", "parent_group": "tiers"},
            {"key": "instance_id", "prefix": "box", "parent_group": "{{ ec2_tags.Team | default('teamless') }}"},
        ],
    )
    assert _children(inventory, "tiers") == ["tier_none", "tier_prod"]
    assert _children(inventory, "critical") == []
    assert _children(inventory, f"account_{VICTIM}") == []
    assert _children(inventory, "web_team") == ["box_i_0000000000000c003"]
    text = " ".join(warnings)
    for group in ("tiers", "critical", f"account_{VICTIM}"):
        assert f"group '{group}' not made the parent of 1 keyed group(s)" in text, warnings
