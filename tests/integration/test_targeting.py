"""What an amazon.aws.aws_ec2 user writes, through the real ansible-inventory CLI against moto:
include_filters / exclude_filters (aws_ec2's semantics, calls counted by the fault layer),
hostvars_prefix / hostvars_suffix, placement.region, the Jinja pre-check of compose / groups /
keyed_groups before any AWS call, and unknown-key hints for aws_ec2 option names."""

from __future__ import annotations

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import account_client

OUR_PREFIX = "crossaccount.aws.ec2 configuration error in "
ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")
REGIONS = ("us-east-1", "eu-west-1")
BASE = (
    "plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\n"
    'accounts: ["111111111111", "222222222222", "333333333333", "444444444444"]\n'
    "regions: [us-east-1, eu-west-1]\n"
)
FAIL_UNPARSED = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}


def _run(stand_in, tmp_path, text: str, name: str = "t.ec2.yml"):
    path = tmp_path / name
    path.write_text(text)
    return cli.inventory(str(path), stand_in.endpoint, "--list", extra_env=FAIL_UNPARSED)


def _expected(fleet, keep) -> set[str]:
    return {i["instance_id"] for i in fleet if i["region"] in REGIONS and keep(i)}


def _ids(result) -> set[str]:
    return {hv["instance_id"] for hv in result.hostvars.values()}


def _describe_calls(faults) -> dict[tuple[str, str], int]:
    return {(a, r): n for (action, a, r), n in faults.calls.items() if action == "DescribeInstances"}


def _one_line(result, path_hint: str = "") -> str:
    assert result.rc != 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if OUR_PREFIX in line]
    assert len(lines) == 1, result.stderr
    return lines[0].split(".ec2.yml: ", 1)[1]


# -- include_filters / exclude_filters --------------------------------------------------------


def test_include_and_exclude_filters_as_aws_ec2(stand_in, fleet, faults, tmp_path):
    """filters, plus one query per include_filters entry, united by instance id; exclude_filters
    entries remove what they match. Exactly one DescribeInstances per query per account-region."""
    result = _run(
        stand_in,
        tmp_path,
        BASE
        + "filters: {tag:Environment: dev}\n"
        + "include_filters:\n  - tag:Name: bastion\n  - instance-type: m5.large\n  - tag:Environment: dev\n"
        + "exclude_filters:\n  - tag:Name: [db]\n",
    )
    assert result.rc == 0, result.stderr
    want = _expected(
        fleet,
        lambda i: (
            (i["account"] == "222222222222" or i["name"] == "bastion" or i["instance_type"] == "m5.large")
            and i["name"] != "db"
        ),
    )
    assert _ids(result) == want
    assert len(result.hostvars) == len(want)  # the dev instances matched twice are one host each
    calls = _describe_calls(faults)
    # 1 (filters) + 3 (include_filters) + 1 (exclude_filters) queries, one page each, per account-region
    assert calls == {(a, r): 5 for a in ACCOUNTS for r in REGIONS}
    assert result.all_vars["crossaccount_errors"] == []


def test_one_more_include_filter_costs_one_call_per_account_region(stand_in, fleet, faults, tmp_path):
    one = BASE + "include_filters:\n  - tag:Name: bastion\n"
    result = _run(stand_in, tmp_path, one)
    assert result.rc == 0, result.stderr
    assert _ids(result) == _expected(fleet, lambda i: i["name"] == "bastion")  # no `filters`: only the entries
    first = _describe_calls(faults)
    assert first == {(a, r): 1 for a in ACCOUNTS for r in REGIONS}
    faults.reset()
    result = _run(stand_in, tmp_path, one + "  - tag:Name: web\n")
    assert result.rc == 0, result.stderr
    assert _ids(result) == _expected(fleet, lambda i: i["name"] in ("bastion", "web"))
    assert _describe_calls(faults) == {k: n + 1 for k, n in first.items()}
    # nothing else is called more: one AssumeRole per account, no DescribeRegions (regions are given)
    assert {k: n for k, n in faults.calls.items() if k[0] != "DescribeInstances"} == {
        ("AssumeRole", a, "us-east-1"): 1 for a in ACCOUNTS
    }


@pytest.mark.parametrize("failing", ["include", "exclude"])
def test_a_failed_filter_query_fails_its_account_region_only(stand_in, fleet, faults, tmp_path, failing):
    """The query that fails is not the first of the region: the hosts the first one found are not
    published as if complete (no partial list); the other account-regions are whole."""
    bad = ("444444444444", "us-east-1")
    # exclude queries run first, then filters, then include_filters: fail the second call of the region
    faults.set_faults(
        [
            Fault(
                code="UnauthorizedOperation",
                status=403,
                action="DescribeInstances",
                account=bad[0],
                region=bad[1],
                after=1,
            )
        ]
    )
    extra = (
        "include_filters:\n  - tag:Environment: prod\n  - tag:Name: bastion\n"
        if failing == "include"
        else "filters: {tag:Environment: prod}\nexclude_filters:\n  - tag:Name: nothing\n  - tag:Name: api\n"
    )
    result = _run(stand_in, tmp_path, BASE + extra)
    assert result.rc == 0, result.stderr
    errors = result.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"]) for e in errors] == [bad]
    assert "UnauthorizedOperation" in result.stderr
    found = {(hv["account_id"], hv["region"]) for hv in result.hostvars.values()}
    assert bad not in found
    assert ("444444444444", "eu-west-1") in found  # the same account's other region is whole


# -- hostvars_prefix / hostvars_suffix, placement.region -------------------------------------------


def test_hostvars_prefix_and_suffix_and_compose_sees_the_renamed_names(stand_in, fleet, faults, tmp_path):
    result = _run(
        stand_in,
        tmp_path,
        BASE
        + "hostvars_prefix: aws_\nhostvars_suffix: _x\n"
        + "compose:\n  env: aws_ec2_tags_x.Environment\n  itype: aws_instance_type_x\n"
        + "keyed_groups:\n  - key: aws_placement_x.region\n    prefix: aws_region\n",
    )
    assert result.rc == 0, result.stderr
    by_id = {i["instance_id"]: i for i in fleet}
    for hv in result.hostvars.values():
        iid = hv["aws_instance_id_x"]
        assert "instance_id" not in hv and "ec2_tags" not in hv and "placement" not in hv
        # this plugin's own variables keep their names
        assert hv["account_id"] == by_id[iid]["account"] and hv["region"] == by_id[iid]["region"]
        assert hv["ansible_host"] == hv["aws_private_ip_address_x"]
        assert hv["itype"] == by_id[iid]["instance_type"]
        assert hv["env"] == hv["aws_ec2_tags_x"]["Environment"]
        assert hv["aws_placement_x"]["region"] == hv["region"]
    for region in REGIONS:
        members = set(result.group_hosts("aws_region_" + region.replace("-", "_")))
        assert members == {h for h, hv in result.hostvars.items() if hv["region"] == region}


def test_placement_region_as_aws_ec2_sets_it(stand_in, fleet, faults, tmp_path):
    result = _run(stand_in, tmp_path, BASE + "keyed_groups:\n  - key: placement.region\n    prefix: aws_region\n")
    assert result.rc == 0, result.stderr
    for host, hv in result.hostvars.items():
        assert hv["placement"]["region"] == hv["region"] == hv["placement"]["availability_zone"][:-1]
        assert host in result.group_hosts("aws_region_" + hv["region"].replace("-", "_"))


# -- refused before any AWS call -------------------------------------------------------------------

REFUSED = {
    # Jinja syntax errors: one line naming the option, before the scan
    "compose-syntax": ("compose:\n  owner: ec2_tags.Owner |\n", "compose.owner: Jinja syntax error", "fix the"),
    "groups-syntax": ('groups:\n  web: "ec2_tags.Name == \'web"\n', "groups.web: Jinja syntax error", "fix the"),
    "keyed-key-syntax": (
        "keyed_groups:\n  - key: ec2_tags[Role\n    prefix: role\n",
        "keyed_groups[0].key: Jinja syntax error",
        "fix the",
    ),
    "keyed-parent-syntax": (
        'keyed_groups:\n  - key: instance_type\n    parent_group: "{{ account_id "\n',
        "keyed_groups[0].parent_group: Jinja syntax error",
        "fix the",
    ),
    "compose-delimiters": ('compose:\n  x: "{{ instance_type }}"\n', "compose.x: Jinja syntax error", "without {{"),
    "keyed-no-key": ("keyed_groups:\n  - prefix: role\n", "keyed_groups[0]: has no key", "write key:"),
    # variables aws_ec2 sets and this plugin names otherwise: never a silent default
    "compose-tags": (
        "compose:\n  owner: tags.Owner | default('nobody')\n",
        "compose.owner: reads 'tags'",
        "read ec2_tags",
    ),
    "groups-tags": ("groups:\n  prod: \"tags['Environment'] == 'prod'\"\n", "groups.prod: reads 'tags'", "ec2_tags"),
    "keyed-tags": ("keyed_groups:\n  - key: tags\n    prefix: tag\n", "keyed_groups[0].key: reads 'tags'", "ec2_tags"),
    "prefixed-tags": (
        "hostvars_prefix: aws_\ncompose:\n  o: aws_tags.Owner\n",
        "compose.o: reads 'aws_tags'",
        "read aws_ec2_tags",
    ),
    "contrib-tag-keys": (
        "compose:\n  o: ec2_tag_Owner\n",
        "compose.o: reads 'ec2_tag_Owner'",
        "read ec2_tags['Owner']",
    ),
    # include_filters / exclude_filters / hostvars_prefix validation
    "include-mapping": ("include_filters:\n  tag:Name: web\n", "include_filters: expected a list", "list item"),
    "include-number": (
        "include_filters:\n  - tag:Version: 1.10\n",
        "include_filters[0].tag:Version: YAML read the value as a number (1.1)",
        "write the value in quotes",
    ),
    "include-empty": ("include_filters:\n  - {}\n", "include_filters[0]: the filter is empty", "write e.g."),
    "exclude-bool": ("exclude_filters:\n  - tag:Skip: yes\n", "exclude_filters[0].tag:Skip: YAML read", "in quotes"),
    "prefix-bad": ("hostvars_prefix: 'aws-'\n", "hostvars_prefix: 'aws-' would not make valid", "letters, digits"),
    # aws_ec2 option names: the hint points to the right option (AWS_EC2_OPTIONS)
    "iam_role_arn": (
        "iam_role_arn: arn:aws:iam::111111111111:role/X\n",
        "iam_role_arn: is amazon.aws.aws_ec2's name",
        "accounts: [{role_arn: arn:aws:iam::ID:role/NAME}]",
    ),
    "strict_permissions": (
        "strict_permissions: false\n",
        "strict_permissions: is amazon.aws.aws_ec2's",
        "strict_errors",
    ),
    "region": ("region: eu-west-1\n", "region: is amazon.aws.aws_ec2's name", "write sts_region: REGION"),
    "aws_profile": ("aws_profile: prod\n", "aws_profile: is amazon.aws.aws_ec2's name", "write profile: NAME"),
    "use_ssm_inventory": ("use_ssm_inventory: true\n", "use_ssm_inventory: is an amazon.aws.aws_ec2 option", "remove"),
    "include_extra_api_calls": (
        "include_extra_api_calls: true\n",
        "include_extra_api_calls: is an amazon.aws.aws_ec2 option",
        "removed it in 9.0.0",
    ),
    "allow_duplicated_hosts": (
        "allow_duplicated_hosts: true\n",
        "allow_duplicated_hosts: is an amazon",
        "never merged",
    ),
    "sanitization": (
        "use_contrib_script_compatible_sanitization: true\n",
        "use_contrib_script_compatible_sanitization: is an amazon.aws.aws_ec2 option this plugin does not support",
        "letters, digits and _",
    ),
    "endpoint_url": (
        "endpoint_url: http://localhost\n",
        "endpoint_url: is an amazon.aws.aws_ec2 option not",
        "AWS_END",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_before_any_aws_call_with_one_line(name, stand_in, faults, tmp_path):
    extra, starts, fix = REFUSED[name]
    result = _run(stand_in, tmp_path, BASE + extra)
    message = _one_line(result)
    assert message.startswith(starts), message
    assert fix in message, message
    assert len(message) < 300, message
    assert sum(faults.calls.values()) == 0, f"no AWS call for a refused configuration: {dict(faults.calls)}"


def test_filters_and_tests_jinja_does_not_know_are_not_refused(stand_in, fleet, faults, tmp_path):
    """Only syntax is checked: ansible's and collections' filters (unknown to plain Jinja) and a
    {% set %} of a name the check looks for are fine; the run then composes as before."""
    result = _run(
        stand_in,
        tmp_path,
        BASE
        + "compose:\n"
        + "  sg: security_groups | map(attribute='group_id') | list\n"
        + "  short: ec2_tags.Name | default('') | regex_replace('-', '_')\n"
        + "groups:\n  webs: \"'web' in (ec2_tags.Name | default(''))\"\n  legacy: \"{{ region == 'eu-west-1' }}\"\n"
        + "keyed_groups:\n  - key: security_groups | json_query('[].group_id')\n    prefix: sg\n"
        + "    parent_group: \"{% set tags = 'x' %}{{ tags }}_parent\"\n",
    )
    assert result.rc == 0, result.stderr
    webs = set(result.group_hosts("webs"))
    assert webs == {h for h, hv in result.hostvars.items() if "web" in hv["ec2_tags"].get("Name", "")}
    assert set(result.group_hosts("legacy")) == {h for h, hv in result.hostvars.items() if hv["region"] == "eu-west-1"}
    for hv in result.hostvars.values():
        assert hv["short"] == hv["ec2_tags"].get("Name", "").replace("-", "_")


@pytest.mark.parametrize(
    ("team", "taken"),
    [
        ("critical", False),  # a groups key of the file
        ("account_444444444444", False),  # the production account's default group
        ("account_999999999999", False),  # shaped like a default group, even with no such account
        ("web_team", True),  # any other name: a parent group, as with ansible-core
    ],
)
def test_a_templated_parent_group_never_takes_a_keyed_group_into_a_group_others_fix(
    team, taken, stand_in, fleet, tmp_path
):
    """keyed_groups' parent_group is a template ansible-core renders per host: a tag writer in the
    sandbox account picks its value. Named like a group AWS data or the file fixes, it made the
    tagged host's keyed group a child of that group, so `--limit critical` or
    `--limit account_444444444444` reached the sandbox instance. Such a link is not made (one
    warning); any other name is a parent group as before."""
    sandbox = next(i for i in fleet if i["account"] == "222222222222" and i["region"] == "us-east-1")
    ec2 = account_client(stand_in.endpoint, "ec2", "222222222222", "us-east-1")
    ec2.create_tags(Resources=[sandbox["instance_id"]], Tags=[{"Key": "Team", "Value": team}])
    try:
        result = _run(
            stand_in,
            tmp_path,
            BASE
            + "groups:\n  critical: \"account_id == '444444444444'\"\n"
            + "keyed_groups:\n  - key: instance_id\n    prefix: sandbox\n"
            + "    parent_group: \"{{ ec2_tags.Team | default('teamless') }}\"\n",
        )
    finally:
        ec2.delete_tags(Resources=[sandbox["instance_id"]], Tags=[{"Key": "Team"}])
    assert result.rc == 0, result.stderr
    data = result.data
    keyed = f"sandbox_{sandbox['instance_id'].replace('-', '_')}"
    children = set(data.get(team, {}).get("children", []))
    assert (keyed in children) is taken, data.get(team)
    if taken:
        return
    assert f"group '{team}' not made the parent of 1 keyed group(s)" in " ".join(result.stderr.split())
    assert not any(c.startswith("sandbox_") for c in children), data.get(team)
