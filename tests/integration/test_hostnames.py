"""Hostnames through the real CLIs against the moto stand-in: a tag never impersonates a group,
the controller, another instance or another source's host (issue 10 §1); names are stable when a
same-Name instance is launched (issue 11 point 1); aws_ec2's hostnames grammar (issue 11 point 2).

Accounts 515151515151 (the victim), 525252525252 (the attacker, who can write tags) and
53.../54... (stable identity) are used only here, so the shared Example Corp fleet is untouched.
"""

from __future__ import annotations

import csv
import os
import time

import pytest

from tests.support import cli
from tests.support.fleet import Planned, seed

VICTIM = "515151515151"
ATTACKER = "525252525252"

HOSTILE = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["{victim}", "{attacker}"]
regions: [us-east-1, eu-west-1]
hostnames: [tag:Name, instance-id]
keyed_groups:
  - key: ec2_tags.Environment
    prefix: env
  - key: ec2_tags.Role
    prefix: ""
    separator: ""
leading_separator: false
groups:
  critical: ec2_tags.Tier | default('') == 'critical'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache}
"""

STATIC = """[static_servers]
bastion01 ansible_host=192.0.2.10 static_marker=yes
"""

PLAY = """- name: Targets only
  hosts: all
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.meta: noop
"""

DELEGATE = """- name: delegate_to localhost from the attacker's hosts stays on the controller
  hosts: account_{attacker}
  gather_facts: false
  tasks:
    - name: Runs on the controller, through the implicit localhost (connection local)
      ansible.builtin.command: /bin/echo delegated-ran-locally
      delegate_to: localhost
      changed_when: false
      run_once: true

- name: hosts localhost is the controller
  hosts: localhost
  gather_facts: false
  tasks:
    - name: localhost is not an EC2 host
      ansible.builtin.assert:
        that:
          - instance_id is not defined
          - ansible_connection == 'local'
          - groups['all'] | select('equalto', 'localhost') | list == []
"""


def _attacks(victim_web_id: str) -> dict[str, dict]:
    """Name tag -> extra tags, for each instance of the attacker."""
    return {
        f"account_{VICTIM}": {},
        "region_eu_west_1": {},
        "name_web": {},
        "env_prod": {},
        "critical": {},
        "all": {"Role": "localhost"},  # and a keyed group that would be named localhost
        "ungrouped": {"Role": "bastion01"},  # and one named like the static host
        "localhost": {},
        "web.localhost": {},  # RFC 6761: resolvers (systemd's nss-myhostname, resolved) answer loopback
        "ip6-localhost.": {},  # the fully-qualified form of an /etc/hosts alias of ::1
        "127.1": {},  # inet_aton's short forms of loopback and of an address
        "0x7f000001": {},
        "42": {},
        victim_web_id: {"Role": victim_web_id},  # and one named like that instance id
        "bastion01": {},
        "web:&db": {},
        "web,db": {},
    }


@pytest.fixture(scope="module")
def hostile(stand_in, fleet, tmp_path_factory):
    base = tmp_path_factory.mktemp("hostnames")
    victims = seed(
        stand_in.endpoint,
        [
            Planned(VICTIM, "us-east-1", "web", {"Environment": "prod", "Role": "app"}),
            Planned(VICTIM, "us-east-1", "db", {"Tier": "critical"}),
            Planned(VICTIM, "eu-west-1", "cache", {}),
        ],
    )
    by_name = {v["name"]: v["instance_id"] for v in victims}
    attacks = _attacks(by_name["web"])
    time.sleep(1.1)  # the attacker's instances are launched later (moto sets LaunchTime at creation)
    attackers = seed(
        stand_in.endpoint,
        [Planned(ATTACKER, "us-east-1", name, tags) for name, tags in attacks.items()]
        + [Planned(ATTACKER, "us-east-1", "db", {})],
    )
    inventory = base / "hostile.ec2.yml"
    # the first run scans, the later ones are served from the cache (same names: the choice is
    # made from the records every time)
    inventory.write_text(HOSTILE.format(victim=VICTIM, attacker=ATTACKER, cache=base / "cache"))
    static = base / "static.ini"
    static.write_text(STATIC)
    play = base / "play.yml"
    play.write_text(PLAY)
    sources = ["-i", str(static), "-i", str(inventory)]
    listed = cli.run([os.path.join(cli.BIN, "ansible-inventory"), *sources, "--list"], stand_in.endpoint)
    return {
        "base": base,
        "inventory": inventory,
        "sources": sources,
        "play": play,
        "victims": by_name,
        "attackers": {a["instance_id"]: a["name"] for a in attackers},
        "listed": listed,
    }


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_inventory_loads_with_every_attacker_host_under_its_instance_id(hostile):
    listed = hostile["listed"]
    assert listed.rc == 0, listed.stderr
    assert "Traceback" not in listed.stderr and "Failed to parse" not in listed.stderr, listed.stderr
    hostvars = listed.hostvars
    for iid, tag in hostile["attackers"].items():
        if tag == "db":
            assert hostvars[f"db_{iid}"]["instance_id"] == iid, "a same-Name newcomer gets NAME_<instance id>"
            continue
        assert iid in hostvars, (tag, sorted(hostvars))
        assert hostvars[iid]["ec2_tags"]["Name"] == tag
        assert hostvars[iid]["account_id"] == ATTACKER
    for name, iid in hostile["victims"].items():
        assert hostvars[name]["instance_id"] == iid, "the victim's hosts keep their names"
    assert hostvars["bastion01"]["static_marker"] == "yes"
    assert "instance_id" not in hostvars["bastion01"], "the static host was not merged with an EC2 instance"


def test_one_warning_per_refused_name_naming_instance_account_and_value(hostile):
    stderr = _flat(hostile["listed"].stderr)
    for iid, tag in hostile["attackers"].items():
        if tag == "db":
            continue
        line = f"instance {iid} of account {ATTACKER}: hostname {tag!r} refused"
        assert stderr.count(line) == 1, (line, stderr)


def test_groups_never_capture_hosts(hostile):
    data = hostile["listed"].data
    victims = hostile["victims"]
    expected = {
        f"account_{VICTIM}": {"web", "db", "cache"},
        "region_eu_west_1": {"cache"},
        "name_web": {"web"},
        "env_prod": {"web"},
        "critical": {"db"},
        "app": {"web"},
        "static_servers": {"bastion01"},
    }
    for group, hosts in expected.items():
        assert set(data[group].get("hosts", [])) == hosts, (group, data[group])
        assert "children" not in data[group], (group, data[group])
    for group, body in data.items():
        if group not in ("all", "_meta"):
            assert "children" not in body, f"group {group} has child groups: {body}"
    # groups that would have shadowed a host: never created
    for name in ("localhost", "bastion01", victims["web"]):
        assert name not in data, name
    # the attacker's hosts are in none of the victim's groups
    named = {hv["instance_id"]: name for name, hv in hostile["listed"].hostvars.items() if "instance_id" in hv}
    for iid in hostile["attackers"]:
        member_of = {g for g, body in data.items() if g != "_meta" and named[iid] in body.get("hosts", [])}
        assert f"account_{ATTACKER}" in member_of
        assert not member_of & set(expected), (iid, member_of)


def _list_hosts(hostile, stand_in, limit: str) -> set[str]:
    result = cli.run(
        [
            os.path.join(cli.BIN, "ansible-playbook"),
            *hostile["sources"],
            str(hostile["play"]),
            "--list-hosts",
            "--limit",
            limit,
        ],
        stand_in.endpoint,
    )
    assert result.rc == 0, result.stdout + result.stderr
    lines = result.stdout.split("hosts (", 1)[1].splitlines()[1:]
    return {line.strip() for line in lines if line.strip()}


def test_limit_to_the_victims_groups_never_reaches_the_attacker(hostile, stand_in):
    victims = hostile["victims"]
    assert _list_hosts(hostile, stand_in, f"account_{VICTIM}") == {"web", "db", "cache"}
    assert _list_hosts(hostile, stand_in, f"account_{VICTIM}:&region_eu_west_1") == {"cache"}
    assert _list_hosts(hostile, stand_in, "name_web:env_prod") == {"web"}
    assert _list_hosts(hostile, stand_in, "bastion01") == {"bastion01"}
    assert _list_hosts(hostile, stand_in, "web") == {"web"}
    assert _list_hosts(hostile, stand_in, "db") == {"db"}
    assert victims["web"] not in _list_hosts(hostile, stand_in, "all")


def test_delegate_to_localhost_stays_on_the_controller(hostile, stand_in):
    playbook = hostile["base"] / "delegate.yml"
    playbook.write_text(DELEGATE.format(attacker=ATTACKER))
    result = cli.run(
        [os.path.join(cli.BIN, "ansible-playbook"), "-i", str(hostile["inventory"]), str(playbook), "-v"],
        stand_in.endpoint,
    )
    out = result.stdout + result.stderr
    assert result.rc == 0, out
    assert "delegated-ran-locally" in out
    assert "unreachable=1" not in out and "failed=1" not in out
    assert "All assertions passed" in out


def test_the_cmdb_export_has_every_attacker_instance(hostile, stand_in):
    out_dir = hostile["base"] / "export"
    out_dir.mkdir()
    result = cli.export(str(hostile["inventory"]), stand_in.endpoint, out_dir)
    assert result.rc == 0, result.stdout + result.stderr
    with open(out_dir / "cmdb.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    exported = {row["instance_id"] for row in rows}
    assert set(hostile["attackers"]) <= exported
    assert set(hostile["victims"].values()) <= exported
    assert len(rows) == len(hostile["attackers"]) + len(hostile["victims"])


# ---------------------------------------------------------------------------------------------
# stable identity (issue 11 point 1)

OLD_ACCOUNT = "545454545454"
NEW_ACCOUNT = "535353535353"  # sorts before OLD_ACCOUNT: the old rule gave it the name

STABLE = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["{new}", "{old}"]
regions: [us-east-1, ap-southeast-2]
hostnames: [tag:Name, instance-id]
"""


def test_a_newcomer_never_takes_an_existing_name(stand_in, fleet, write_inventory):
    (old,) = seed(stand_in.endpoint, [Planned(OLD_ACCOUNT, "us-east-1", "app", {})])
    path = write_inventory(STABLE.format(new=NEW_ACCOUNT, old=OLD_ACCOUNT), name="stable.ec2.yml")
    before = cli.inventory(path, stand_in.endpoint)
    assert before.rc == 0, before.stderr
    assert before.hostvars["app"]["instance_id"] == old["instance_id"]
    time.sleep(1.1)  # LaunchTime is set at creation
    # same Name, in an account, a region and (possibly) an instance id that all sort first
    newcomers = seed(
        stand_in.endpoint,
        [Planned(NEW_ACCOUNT, "us-east-1", "app", {}), Planned(NEW_ACCOUNT, "ap-southeast-2", "app", {})],
    )
    after = cli.inventory(path, stand_in.endpoint)
    assert after.rc == 0, after.stderr
    assert after.hostvars["app"]["instance_id"] == old["instance_id"], "the existing name did not move"
    for new in newcomers:
        assert after.hostvars[f"app_{new['instance_id']}"]["instance_id"] == new["instance_id"]
    assert "3 instances want the hostname 'app'; the longest-running keeps it" in _flat(after.stderr)


RESTARTED_ACCOUNT = "585858585858"


def test_a_stop_and_start_never_moves_a_name_to_a_later_instance(stand_in, fleet, write_inventory):
    """AWS's LaunchTime is when the instance was last started (botocore's documentation: "To
    determine the time that instance was first launched, see the attachment time for the primary
    network interface"). Stopping and starting the instance that holds a name must not hand that
    name to a same-Name instance launched after it."""
    from moto.core.utils import utcnow
    from moto.ec2.models import ec2_backends

    (old,) = seed(stand_in.endpoint, [Planned(RESTARTED_ACCOUNT, "us-east-1", "svc", {})])
    time.sleep(1.1)  # LaunchTime and the primary interface's AttachTime are set at creation
    (new,) = seed(stand_in.endpoint, [Planned(RESTARTED_ACCOUNT, "us-east-1", "svc", {})])
    path = write_inventory(
        f'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["{RESTARTED_ACCOUNT}"]\n'
        "regions: [us-east-1]\nhostnames: [tag:Name, instance-id]\n",
        name="restarted.ec2.yml",
    )
    before = cli.inventory(path, stand_in.endpoint)
    assert before.rc == 0, before.stderr
    assert before.hostvars["svc"]["instance_id"] == old["instance_id"]
    time.sleep(1.1)
    # the longest-running instance is stopped and started: AWS sets its LaunchTime to now (moto
    # leaves it, so the test does what AWS does); its primary interface keeps its AttachTime
    ec2_backends[RESTARTED_ACCOUNT]["us-east-1"].get_instance(old["instance_id"]).launch_time = utcnow()
    after = cli.inventory(path, stand_in.endpoint)
    assert after.rc == 0, after.stderr
    assert after.hostvars["svc"]["instance_id"] == old["instance_id"], "the name moved to a later instance"
    assert after.hostvars[f"svc_{new['instance_id']}"]["instance_id"] == new["instance_id"]


# ---------------------------------------------------------------------------------------------
# aws_ec2's grammar (issue 11 point 2)

GRAMMAR = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["{victim}"]
regions: [us-east-1, eu-west-1]
attributes: [instance_type]
hostnames:
  - tag:Nmae
  - tag:Name=web
  - tag:Tier=nope,Tier=critical
  - name: private-dns-name
    prefix: tag:Name
    separator: "-"
  - instance-id
"""


def test_aws_ec2_forms_give_aws_ec2_names_and_a_typo_is_warned_once(hostile, stand_in, write_inventory):
    path = write_inventory(GRAMMAR.format(victim=VICTIM), name="grammar.ec2.yml")
    result = cli.inventory(path, stand_in.endpoint)
    assert result.rc == 0, result.stderr
    by_id = {v["instance_id"]: name for name, v in result.hostvars.items()}
    victims = hostile["victims"]
    assert by_id.get(victims["web"]) == "Name_web", result.stderr
    assert by_id[victims["db"]] == "Tier_critical"
    cache = by_id[victims["cache"]]
    dns = result.hostvars[cache]["private_dns_name"]
    assert dns, "the lean attributes list still fetched what the hostname source reads"
    assert cache == f"cache-{dns}"
    stderr = _flat(result.stderr)
    assert stderr.count("hostnames[0] 'tag:Nmae' gave a name to no instance") == 1, stderr
    assert "hostnames[4]" not in stderr and "hostnames[1]" not in stderr


@pytest.mark.parametrize(
    "hostnames, key",
    [
        ('["tag:Name | lower"]', "hostnames[0]"),
        ("[instance-id, dns_name]", "hostnames[1]"),
        ("[{name: dns-name, sufix: x}]", "hostnames[0].sufix"),
        ("[tag-key]", "hostnames[0]"),
    ],
)
def test_unknown_forms_are_refused_before_any_aws_call(stand_in, faults, write_inventory, hostnames, key):
    path = write_inventory(
        f'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["{VICTIM}"]\nhostnames: {hostnames}\n'
    )
    result = cli.inventory(path, stand_in.endpoint, extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.rc != 0
    lines = [line for line in result.stderr.splitlines() if f"{key}:" in line]
    assert len(lines) == 1, result.stderr
    assert sum(faults.calls.values()) == 0


def test_an_empty_hostnames_list_is_the_default(stand_in, fleet, write_inventory):
    """aws_ec2 reads ``hostnames: []`` as its default list; here too (the instance id). It was
    refused as 'expected a list, got a list'."""
    path = write_inventory(
        'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["444444444444"]\n'
        "regions: [ap-southeast-2]\nhostnames: []\n"
    )
    result = cli.inventory(path, stand_in.endpoint, extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.rc == 0, result.stderr
    assert result.hostvars
    assert all(name == hv["instance_id"] for name, hv in result.hostvars.items())


def test_a_dict_form_prefix_that_matches_no_instance_is_warned_once(stand_in, fleet, write_inventory):
    """A misspelt prefix source (tag:Enviroment) has a value for no instance, so every host is
    named by the bare name (aws_ec2's rule for an instance that lacks the prefix): one warning
    names it, as for a misspelt name source. It was silent."""
    path = write_inventory(
        'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["444444444444"]\n'
        "regions: [ap-southeast-2]\nattributes: [instance_type]\n"
        "hostnames:\n  - {name: private-ip-address, prefix: 'tag:Enviroment', separator: '-'}\n"
        "  - {name: instance-id, prefix: 'tag:Name'}\n"
    )
    result = cli.inventory(path, stand_in.endpoint)
    assert result.rc == 0, result.stderr
    assert result.hostvars
    assert all(name == hv["private_ip_address"] for name, hv in result.hostvars.items())
    stderr = _flat(result.stderr)
    assert stderr.count("hostnames[0].prefix 'tag:Enviroment' gave a value for no instance") == 1, stderr
    assert "hostnames[1]" not in stderr, stderr  # its prefix names some instances


def test_an_item_of_a_tag_list_that_matches_no_instance_is_warned_once(stand_in, fleet, write_inventory):
    """In tag:K1=V1,K2 each item is a source of its own (the first that matches names the
    instance): a misspelt item (Enviroment=prod) matches no instance while the others name the
    hosts, so it was never noticed. One warning names it."""
    path = write_inventory(
        'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["444444444444"]\n'
        "regions: [ap-southeast-2]\nattributes: [instance_type]\n"
        "hostnames: ['tag:Enviroment=prod,Environment=prod', instance-id]\n"
    )
    result = cli.inventory(path, stand_in.endpoint)
    assert result.rc == 0, result.stderr
    assert "Environment_prod" in result.hostvars  # the other item named a host
    stderr = _flat(result.stderr)
    assert stderr.count("hostnames[0] 'tag:Enviroment=prod,Environment=prod': item 'Enviroment=prod' matched no") == 1
    assert "item 'Environment=prod'" not in stderr, stderr


KEY_NAMES = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["565656565656"]
regions: [us-east-1]
hostnames: [key-name, instance-id]
keyed_groups:
  - key: ec2_tags.Environment
    prefix: env
"""


def test_a_key_pair_name_is_contested_like_a_tag(stand_in, write_inventory):
    """Whoever launches instances in an account names its key pairs (CreateKeyPair) as freely as
    its tags: with hostnames: [key-name, ...] a key pair named ``env_prod`` (no instance of the
    scan is tagged Environment=prod) or ``10.9.9.9`` is refused like such a Name tag, and the
    instances are named by their ids. Before, the host env_prod took --limit env_prod (and
    'env_*') on a night that keyed group was empty, and 10.9.9.9 posed as an address."""
    from tests.support.fleet import _account_ec2

    ec2, image = _account_ec2(stand_in.endpoint, "565656565656", "us-east-1")
    ids = {}
    for key in ("env_prod", "10.9.9.9", "plain-key"):
        ec2.create_key_pair(KeyName=key)
        ids[key] = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, KeyName=key)["Instances"][0]["InstanceId"]
    result = cli.inventory(write_inventory(KEY_NAMES), stand_in.endpoint, "--list")
    assert result.rc == 0, result.stderr
    hosts = set(result.hostvars)
    assert hosts == {ids["env_prod"], ids["10.9.9.9"], "plain-key"}, sorted(hosts)
    stderr = " ".join(result.stderr.split())
    assert "hostname 'env_prod' refused (starts like a keyed group (env_...)" in stderr, stderr
    assert "hostname '10.9.9.9' refused (an IP address" in stderr, stderr
