"""Side by side with amazon.aws.aws_ec2 (10.1.2, from .tmp/collections) on the same moto fleet.

Every documented EXAMPLE of aws_ec2 (read from the installed aws_ec2.py, not copied) runs twice:
as aws_ec2 with one file per account (``iam_role_arn`` in each, the aws_ec2 way to reach another
account), and as this plugin with one file listing the accounts -- the multi-account part is the
only translation. Where this plugin refuses the literal file, the one-line error must name an
aws_ec2 option or variable and the documented replacement; the test then applies exactly that
replacement (docs/migrating-from-aws_ec2.md, "Converting") and runs again.

Hosts (by instance id), host names, groups (members by instance id) and host variables are then
compared. Every remaining difference is in KNOWN_DIFFERENCES, which the migration guide lists: the
test asserts the list exactly, so a new difference (or one that went away) fails it.
"""

from __future__ import annotations

import ast
import copy
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import AWS_EC2_OPTIONS, REFUSED, SAME
from tests.support import cli
from tests.support.fleet import SIDE_BY_SIDE_ACCOUNTS, aws_ec2_examples_fleet, seed

AWS_EC2 = os.path.join(cli.COLLECTIONS, "ansible_collections", "amazon", "aws", "plugins", "inventory", "aws_ec2.py")
ROLE = "Discovery"
OURS_DEFAULT_GROUP = re.compile(r"^(account_\d{12}|region_[a-z0-9_]+|name_\w+)$")


# Per example: the documented differences (docs/migrating-from-aws_ec2.md, "Differences the side-by-side
# test shows"). ("fix", ...) is a replacement the literal file needed; ("refused", key) means this
# plugin refuses the example (named option); the rest are differences in the resulting inventory.
def _common(prefix: str = "", suffix: str = "", compose_sets_ansible_host: bool = False) -> set[tuple[str, str]]:
    """Differences every example that runs shows (guide: "Differences the side-by-side test shows")."""
    var = f"{prefix}{{}}{suffix}".format
    out = {
        ("group only in aws_ec2", "aws_ec2"),  # aws_ec2 puts every host in a group named after itself
        ("groups only here", "account_<id>, region_<region>, name_<Name>"),
        ("host names", "differ"),  # default hostnames: instance-id here, dns-name / private-dns-name there
        ("variable only in aws_ec2", var("tags")),  # a name ansible-core reserves: ec2_tags here
        ("variable only here", var("ec2_tags")),
        # timestamps as AWS sends them (2026-01-02T03:04:05.000Z); aws_ec2: Python's isoformat (+00:00)
        ("value differs", var("launch_time")),
        ("value differs", var("block_device_mappings")),
        ("value differs", var("network_interfaces")),
        # this plugin's own variables
        ("variable only here", "account_id"),
        ("variable only here", "region"),
        ("variable only here", "crossaccount_stale"),
        ("variable only here", "crossaccount_scanned_at"),
        ("variable only here", "crossaccount_errors"),  # a variable of group all, shown on hosts by --list
    }
    if not compose_sets_ansible_host:
        out.add(("variable only here", "ansible_host"))
    return out


KNOWN_DIFFERENCES: dict[int, set[tuple[str, str]]] = {
    # minimal: regions only
    0: _common(),
    # filters, strict_permissions, hostnames of every form, allow_duplicated_hosts
    # (its sg-xxxxxxxx placeholder left out); every hostnames form gives aws_ec2's own names
    1: {("fix", "strict_permissions -> strict_errors"), ("fix", "allow_duplicated_hosts removed")}
    | (_common() - {("host names", "differ")}),
    # constructed: keyed_groups on tags, placement.region, json_query, parent_group; compose ansible_host
    2: {("fix", "tags -> ec2_tags in keyed_groups")} | _common(compose_sets_ansible_host=True),
    # include_filters / exclude_filters
    3: _common(),
    # groups on vpc_id, keyed_groups on tags, compose ansible_host, profile
    4: {("fix", "tags -> ec2_tags in keyed_groups")} | _common(compose_sets_ansible_host=True),
    # hostvars_prefix / hostvars_suffix
    5: _common(prefix="aws_", suffix="_ec2")
    | {("variable only here", "crossaccount_hostvars_prefix"), ("variable only here", "crossaccount_hostvars_suffix")},
    # hostnames with a Jinja filter: refused here (tag values are never templated)
    6: {("refused", "hostnames[0]")},
    # Route53 hostnames
    7: {("refused", "route53_enabled")},
    8: {("refused", "route53_enabled")},
}


def _examples() -> list[dict]:
    source = open(AWS_EC2, encoding="utf-8").read()
    text = next(
        node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES"
    )
    return [doc for doc in yaml.safe_load_all(text) if doc]


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def side(stand_in, tmp_path_factory):
    """A small fleet in two accounts of its own (SIDE_BY_SIDE_ACCOUNTS: the session fleet's accounts
    stay as other tests expect them)."""
    fleet = seed(stand_in.endpoint, aws_ec2_examples_fleet())
    home = tmp_path_factory.mktemp("side_by_side")
    credentials = home / "credentials"  # aws_ec2's examples name a profile (aws_profile)
    credentials.write_text(
        "[aws_profile]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    return stand_in, fleet, home, {"AWS_SHARED_CREDENTIALS_FILE": str(credentials)}


def _inventory(server, env, paths):
    args = [a for p in paths for a in ("-i", str(p))]
    return cli.run([os.path.join(cli.BIN, "ansible-inventory"), *args, "--list"], server.endpoint, extra_env=env)


def _members(data: dict, group: str, seen=None) -> set[str]:
    seen = seen or set()
    if group in seen:
        return set()
    seen.add(group)
    entry = data.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= _members(data, child, seen)
    return hosts


def _view(data: dict, instance_id: str) -> tuple[dict, dict, dict]:
    """instance id -> host name, group -> instance ids, instance id -> host variables."""
    hostvars = data["_meta"]["hostvars"]
    names = {hv[instance_id]: host for host, hv in hostvars.items()}
    groups = {}
    for group in data:
        if group in ("_meta", "all", "ungrouped"):
            continue
        groups[group] = {hostvars[h][instance_id] for h in _members(data, group)}
    return names, groups, {hv[instance_id]: hv for hv in hostvars.values()}


def _debug(theirs, ours, prefix, suffix):
    key = f"{prefix or ''}instance_id{suffix or ''}"
    t_vars, o_vars = _view(theirs, key)[2], _view(ours, key)[2]
    for iid in sorted(set(t_vars) & set(o_vars))[:1]:
        for var in sorted(set(t_vars[iid]) & set(o_vars[iid])):
            if t_vars[iid][var] != o_vars[iid][var]:
                print(var, "aws_ec2:", t_vars[iid][var], "ours:", o_vars[iid][var])


def differences(theirs: dict, ours: dict, prefix: str | None = None, suffix: str | None = None) -> set[tuple[str, str]]:
    key = f"{prefix or ''}instance_id{suffix or ''}"
    t_names, t_groups, t_vars = _view(theirs, key)
    o_names, o_groups, o_vars = _view(ours, key)
    out = set()
    if set(t_names) - set(o_names):
        out.add(("instances only in aws_ec2", str(len(set(t_names) - set(o_names)))))
    if set(o_names) - set(t_names):
        out.add(("instances only here", str(len(set(o_names) - set(t_names)))))
    if any(t_names[i] != o_names[i] for i in set(t_names) & set(o_names)):
        out.add(("host names", "differ"))
    for group in sorted(set(t_groups) | set(o_groups)):
        if group not in o_groups:
            out.add(("group only in aws_ec2", group))
        elif group not in t_groups:
            if OURS_DEFAULT_GROUP.match(group):
                out.add(("groups only here", "account_<id>, region_<region>, name_<Name>"))
            else:
                out.add(("group only here", group))
        elif t_groups[group] != o_groups[group]:
            out.add(("group members differ", group))
    for iid in set(t_vars) & set(o_vars):
        tv, ov = t_vars[iid], o_vars[iid]
        for var in set(tv) - set(ov):
            out.add(("variable only in aws_ec2", var))
        for var in set(ov) - set(tv):
            out.add(("variable only here", var))
        for var in set(tv) & set(ov):
            if tv[var] != ov[var]:
                out.add(("value differs", var))
    return out


def translate(doc: dict) -> dict:
    """The multi-account part only: one file with the accounts instead of one file per account."""
    ours = {"plugin": "crossaccount.aws.ec2", "role_name": ROLE, "accounts": list(SIDE_BY_SIDE_ACCOUNTS)}
    ours.update({k: copy.deepcopy(v) for k, v in doc.items() if k != "plugin"})
    return ours


ERROR_RE = re.compile(r"crossaccount\.aws\.ec2 configuration error in \S+: (?P<key>[^:\s]+): (?P<text>.*)")
TAGS_RE = re.compile(r"(?<![\w.'\"])tags(?![\w'\"])")


def _expression_at(config: dict, key: str):
    """(container, index) of compose.X, groups.X or keyed_groups[i].key."""
    m = re.fullmatch(r"(compose|groups)\.(.+)", key)
    if m:
        return config[m.group(1)], m.group(2)
    m = re.fullmatch(r"keyed_groups\[(\d+)\]\.(key|parent_group)", key)
    if m:
        return config["keyed_groups"][int(m.group(1))], m.group(2)
    raise AssertionError(f"no expression at {key}")


def apply_fix(config: dict, key: str, text: str) -> str | None:
    """Apply the replacement the error names (as the migration guide's conversion steps say);
    None when the option is refused (nothing to convert to)."""
    if "a variable amazon.aws.aws_ec2 sets" in text:
        assert "read ec2_tags" in text, text
        container, index = _expression_at(config, key)
        container[index] = TAGS_RE.sub("ec2_tags", container[index])
        return f"tags -> ec2_tags in {re.sub(r'[.[].*', '', key)}"
    if "is amazon.aws.aws_ec2's name" in text:
        new = {"strict_permissions": "strict_errors", "aws_profile": "profile", "boto_profile": "profile"}[key]
        assert f"write {new}" in text, text
        config[new] = config.pop(key)
        return f"{key} -> {new}"
    if "is an amazon.aws.aws_ec2 option not needed here" in text:
        assert "remove it" in text, text
        config.pop(key)
        return f"{key} removed"
    return None


def run_ours(server, env, home, index, doc):
    config = translate(doc)
    fixes = set()
    for _attempt in range(8):
        path = home / f"example{index}.ec2.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        result = _inventory(server, dict(env, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true"), [path])
        if result.rc == 0 and "configuration error" not in result.stderr:
            return result, fixes
        lines = [line for line in result.stderr.splitlines() if "configuration error" in line]
        assert len(lines) == 1, result.stderr  # one line, naming the key and the fix
        m = ERROR_RE.search(lines[0])
        assert m, lines[0]
        fix = apply_fix(config, m.group("key"), m.group("text"))
        if fix is None:
            return None, fixes | {("refused", m.group("key"))}
        fixes.add(("fix", fix))
    raise AssertionError("too many conversion steps")


def run_theirs(server, env, home, index, doc):
    paths = []
    for account in SIDE_BY_SIDE_ACCOUNTS:
        path = home / f"example{index}_{account}.aws_ec2.yml"
        path.write_text(yaml.safe_dump(dict(doc, iam_role_arn=f"arn:aws:iam::{account}:role/{ROLE}")))
        paths.append(path)
    return _inventory(server, dict(env, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true"), paths)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_aws_ec2_example_side_by_side(side, index):
    server, _fleet, home, env = side
    doc = copy.deepcopy(EXAMPLES[index])
    # a documented placeholder (sg-xxxxxxxx) matches no instance anywhere: both plugins would list
    # nothing and the comparison would prove nothing, so it is left out of both files
    if doc.get("filters", {}).get("instance.group-id") == "sg-xxxxxxxx":
        del doc["filters"]["instance.group-id"]
    if "profile" in doc:  # aws_ec2 refuses a profile beside access keys in the environment
        env = dict(env, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    # aws_ec2 runs beside ours (two processes), unless the file uses an option this plugin refuses
    refused_here = any(AWS_EC2_OPTIONS.get(key, (SAME,))[0] == REFUSED for key in doc)
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs_future = None if refused_here else pool.submit(run_theirs, server, env, home, index, doc)
        ours, found = run_ours(server, env, home, index, doc)
        theirs = theirs_future.result() if theirs_future is not None else None
    if refused_here:
        assert ours is None, "an option this plugin refuses was accepted"
    if ours is not None:
        assert theirs.rc == 0, theirs.stderr[-3000:]
        assert theirs.data["_meta"]["hostvars"], "aws_ec2 found no host: the comparison would prove nothing"
        found |= differences(theirs.data, ours.data, doc.get("hostvars_prefix"), doc.get("hostvars_suffix"))
        if os.environ.get("SIDE_BY_SIDE_DEBUG"):
            _debug(theirs.data, ours.data, doc.get("hostvars_prefix"), doc.get("hostvars_suffix"))
    if os.environ.get("SIDE_BY_SIDE_DEBUG"):
        print("FOUND", index, sorted(found))
    assert found == KNOWN_DIFFERENCES[index], f"example {index}: {doc}"


def test_every_example_is_classified():
    """A newer amazon.aws with another example must be run and its differences written down."""
    assert len(EXAMPLES) == len(KNOWN_DIFFERENCES)


def _both(side, name: str, doc: dict, *args: str, **ours_extra):
    """``ansible-inventory -i ... *args`` with aws_ec2 (one file per account) and with this plugin
    (translate(doc), plus ``ours_extra``), on the side-by-side fleet."""
    server, _fleet, home, env = side
    paths = []
    for account in SIDE_BY_SIDE_ACCOUNTS:
        path = home / f"{name}_{account}.aws_ec2.yml"
        path.write_text(yaml.safe_dump(dict(doc, iam_role_arn=f"arn:aws:iam::{account}:role/{ROLE}")))
        paths.append(path)
    ours = home / f"{name}.ec2.yml"
    ours.write_text(yaml.safe_dump(dict(translate(doc), **ours_extra)))
    command = [os.path.join(cli.BIN, "ansible-inventory")]
    theirs = cli.run([*command, *[x for p in paths for x in ("-i", str(p))], *args], server.endpoint, extra_env=env)
    return theirs, cli.run([*command, "-i", str(ours), *args], server.endpoint, extra_env=env)


def _structure(data: dict, instance_id: str) -> dict[str, tuple[frozenset, frozenset]]:
    """group -> (instance ids of its direct hosts, its child groups), from ``--list --export``."""
    hostvars = data["_meta"]["hostvars"]
    return {
        group: (
            frozenset(hostvars[h][instance_id] for h in entry.get("hosts", [])),
            frozenset(entry.get("children", [])),
        )
        for group, entry in data.items()
        if group not in ("_meta", "all", "ungrouped")
    }


def test_parent_group_structure_as_aws_ec2(side):
    """keyed_groups' parent_group holds the keyed groups as children, as with aws_ec2, and no host
    directly: ansible-inventory --graph, --list and --export show the same tree. (A host was also
    added directly to every ancestor of its groups, which the members-only comparison above does
    not see.)"""
    doc = {
        "plugin": "amazon.aws.aws_ec2",
        "regions": ["us-east-1"],
        "keyed_groups": [{"key": "instance_type", "prefix": "type", "parent_group": "types"}],
        "groups": {"web": "instance_type == 't3.micro'"},
    }
    theirs, ours = _both(side, "parents", doc, "--list", "--export", default_groups=[])
    assert theirs.rc == 0 and ours.rc == 0, ours.stderr[-2000:]
    t, o = _structure(theirs.data, "instance_id"), _structure(ours.data, "instance_id")
    t.pop("aws_ec2")
    assert t["types"] == (frozenset(), frozenset({"type_t3_micro", "type_m5_large"}))
    assert o == t


def test_expressions_see_ansible_host_as_aws_ec2_does(side):
    """aws_ec2 sets no ansible_host: compose, groups and keyed_groups read it as undefined, so
    ``ansible_host | default(public_dns_name)`` is the public DNS name. Here too (this plugin's
    default, the private IP, is set on the host but not shown to the expressions); it was the
    private IP, silently."""
    doc = {
        "plugin": "amazon.aws.aws_ec2",
        "regions": ["us-east-1"],
        "compose": {
            "ansible_host": "ansible_host | default(public_dns_name)",
            "address_was_set": "ansible_host is defined",
        },
        "groups": {"preset_address": "ansible_host is defined"},
    }
    theirs, ours = _both(side, "address", doc, "--list")
    assert theirs.rc == 0 and ours.rc == 0, ours.stderr[-2000:]

    def view(result):
        hostvars = result.data["_meta"]["hostvars"]
        members = {hostvars[h]["instance_id"] for h in _members(result.data, "preset_address")}
        return {hv["instance_id"]: (hv["ansible_host"], hv["address_was_set"]) for hv in hostvars.values()}, members

    t, o = view(theirs), view(ours)
    assert t[0] and all(address.startswith("ec2-") and not was_set for address, was_set in t[0].values())
    assert o == t


def test_a_timestamp_hostname_is_aws_ec2s(side):
    """hostnames: [launch-time] names a host by boto3's datetime text with aws_ec2
    (2026-12-05 02:50:13+00:00, sanitised); here too, though the variable keeps AWS's text."""
    doc = {"plugin": "amazon.aws.aws_ec2", "regions": ["us-east-1", "us-east-2"], "hostnames": ["launch-time"]}
    theirs, ours = _both(side, "launched", doc, "--list")
    assert theirs.rc == 0 and ours.rc == 0, ours.stderr[-2000:]
    t = {hv["instance_id"]: name for name, hv in theirs.data["_meta"]["hostvars"].items()}
    o = {hv["instance_id"]: name for name, hv in ours.data["_meta"]["hostvars"].items()}
    assert t
    for iid, name in t.items():  # aws_ec2 merges instances launched in the same second; here NAME_<id>
        assert o[iid] in (name, f"{name}_{iid}"), (o[iid], name)


@pytest.mark.parametrize("prefix, separator", [("aws", "-"), ("tag:Role", "_")])
def test_the_dict_form_with_a_mac_address_gives_aws_ec2s_names(side, prefix, separator):
    """aws_ec2 sanitises each part of the dict form holding ':' on its own (aws-_2_00_...); the
    whole was sanitised at once here (aws_02_00_...), and after a tag prefix the MAC's ':' stayed
    and the name was refused."""
    entry = {"name": "network-interface.mac-address", "prefix": prefix, "separator": separator}
    doc = {"plugin": "amazon.aws.aws_ec2", "regions": ["us-east-1"], "hostnames": [entry]}
    theirs, ours = _both(side, f"mac_{separator}", doc, "--list")
    assert theirs.rc == 0 and ours.rc == 0, ours.stderr[-2000:]
    t = {hv["instance_id"]: name for name, hv in theirs.data["_meta"]["hostvars"].items()}
    o = {hv["instance_id"]: name for name, hv in ours.data["_meta"]["hostvars"].items()}
    assert t and o == t, ours.stderr[-2000:]
