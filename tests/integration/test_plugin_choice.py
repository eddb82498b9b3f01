"""Which plugin reads which file: a file whose ``plugin:`` names another plugin is not ours.

One inventory directory holds a crossaccount.aws.ec2 file and an amazon.aws.aws_ec2 file whose
name also ends in ``ec2.yml`` (``x.aws_ec2.yml``). Through the real ansible-inventory CLI with both
plugins enabled (ours first), each file is read by the plugin it names; with only ours enabled,
ours declines the other file instead of rejecting it key by key."""

from __future__ import annotations

from tests.support import cli

OURS = 'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["222222222222"]\nregions: [us-east-1]\n'
THEIRS = (
    "plugin: amazon.aws.aws_ec2\nregions: [us-east-1]\n"
    "assume_role_arn: arn:aws:iam::111111111111:role/CMDBDiscovery\nhostnames: [instance-id]\n"
)
OUR_ERROR = "crossaccount.aws.ec2 configuration error"


def _directory(tmp_path):
    (tmp_path / "ours.ec2.yml").write_text(OURS)
    (tmp_path / "x.aws_ec2.yml").write_text(THEIRS)
    return str(tmp_path)


def test_each_file_is_read_by_the_plugin_it_names(stand_in, fleet, tmp_path):
    env = {
        "ANSIBLE_INVENTORY_ENABLED": "crossaccount.aws.ec2,amazon.aws.aws_ec2",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
    }
    result = cli.inventory(_directory(tmp_path), stand_in.endpoint, "--list", extra_env=env)
    assert result.rc == 0, result.stderr
    assert OUR_ERROR not in result.stderr
    ours = {i["instance_id"] for i in fleet if i["account"] == "222222222222" and i["region"] == "us-east-1"}
    theirs = {i["instance_id"] for i in fleet if i["account"] == "111111111111" and i["region"] == "us-east-1"}
    assert ours and theirs
    by_account = {}
    for hostvars in result.hostvars.values():
        by_account.setdefault(hostvars.get("owner_id"), set()).add(hostvars.get("instance_id"))
    assert by_account.get("222222222222") == ours
    assert by_account.get("111111111111") == theirs, "amazon.aws.aws_ec2 read x.aws_ec2.yml"
    # only our hosts carry our host variables (crossaccount_scanned_at is a variable of group all)
    assert {h["instance_id"] for h in result.hostvars.values() if "account_id" in h} == ours


def test_ours_alone_declines_the_other_plugins_file(stand_in, fleet, tmp_path):
    env = {"ANSIBLE_INVENTORY_ENABLED": "crossaccount.aws.ec2"}
    result = cli.inventory(_directory(tmp_path), stand_in.endpoint, "--list", extra_env=env)
    assert result.rc == 0, result.stderr
    assert OUR_ERROR not in result.stderr, "the aws_ec2 file is not parsed as ours"
    assert "x.aws_ec2.yml" in result.stderr  # ansible-core: no plugin could parse it
    assert {h["account_id"] for h in result.hostvars.values()} == {"222222222222"}


def test_a_misspelt_plugin_key_gets_one_line_naming_plugin(stand_in, faults, tmp_path):
    """With this plugin the one enabled (the quiet setting docs/bad-input.md recommends), a file whose
    plugin: key is misspelt was declined, and ansible-core said only "Unable to parse ... as an
    inventory source", with no reason."""
    path = tmp_path / "typo.ec2.yml"
    path.write_text(OURS.replace("plugin:", "plugn:"))
    env = {"ANSIBLE_INVENTORY_ENABLED": "crossaccount.aws.ec2", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    result = cli.inventory(str(path), stand_in.endpoint, "--list", extra_env=env)
    assert result.rc != 0
    ours = [line for line in result.stderr.splitlines() if OUR_ERROR in line]
    assert len(ours) == 1, result.stderr
    assert ours[0].endswith(
        f"{OUR_ERROR} in {path}: plugin: missing (is 'plugn' meant to be plugin?); "
        "write plugin: crossaccount.aws.ec2 (a file for another plugin is read by that plugin)"
    ), ours[0]
    assert sum(faults.calls.values()) == 0


def test_a_plain_yaml_inventory_with_our_file_name_is_still_read_by_the_yaml_plugin(stand_in, tmp_path):
    path = tmp_path / "static.ec2.yml"
    path.write_text("all:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.10\n")
    env = {"ANSIBLE_INVENTORY_ENABLED": "crossaccount.aws.ec2,yaml", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    result = cli.inventory(str(path), stand_in.endpoint, "--list", extra_env=env)
    assert result.rc == 0, result.stderr
    assert OUR_ERROR not in result.stderr and "[WARNING]" not in result.stderr, result.stderr
    assert list(result.hostvars) == ["web1"]
