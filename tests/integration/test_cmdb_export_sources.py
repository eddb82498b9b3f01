"""The CMDB export reads every host of the crossaccount.aws.ec2 sources, or writes nothing, through
the real ansible-playbook CLI and the crossaccount.aws.cmdb_export playbook (playbook defaults):

* ``hostvars_prefix`` / ``hostvars_suffix`` (aws_ec2's renames of the instance variables) give the
  same rows as no prefix;
* hosts made by the plugin that give no row (their instance variables are not where the export reads
  them) make the run fail and leave the previous export byte for byte;
* with several sources (shards), one that failed to load (its accounts_file gone, or
  ``strict_errors`` failing it) makes the run fail and leaves the previous export byte for byte,
  where ansible-core itself only warns and goes on with the other sources.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.test_cmdb_export_safety import export, files_of
from tests.support.faults import Fault

SHARD = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: {accounts}
regions: [us-east-1, eu-west-1, ap-southeast-2]
{extra}"""
ALL = '["111111111111", "222222222222", "333333333333", "444444444444"]'
FIRST = '["111111111111", "222222222222"]'
SECOND = '["333333333333", "444444444444"]'


def rows_of(out) -> list[dict]:
    """The rows of the export, each without its scan time (a new scan, a new time)."""
    doc = json.loads((out / "cmdb.json").read_text())
    return [{k: v for k, v in r.items() if k != "scanned_at"} for r in doc["instances"]]


@pytest.fixture
def good(stand_in, fleet, tmp_path):
    """A good export of all four accounts (no prefix), to be kept or reproduced."""
    out = tmp_path / "out"
    out.mkdir()
    inv = tmp_path / "cmdb.ec2.yml"
    inv.write_text(SHARD.format(accounts=ALL, extra=""))
    stand_in.faults.reset()
    result = export(str(inv), stand_in.endpoint, out)
    assert result.rc == 0, result.stdout + result.stderr
    doc = json.loads((out / "cmdb.json").read_text())
    assert doc["counts"]["instances"] == len(fleet) > 0 and doc["counts"]["accounts"] == 4
    return {"out": out, "inv": inv, "files": files_of(out), "rows": rows_of(out)}


@pytest.mark.parametrize("extra", ["hostvars_prefix: aws_\n", "hostvars_prefix: aws_\nhostvars_suffix: _ec2\n"])
def test_hostvars_prefix_and_suffix_give_the_same_rows(good, stand_in, extra):
    good["inv"].write_text(SHARD.format(accounts=ALL, extra=extra))
    result = export(str(good["inv"]), stand_in.endpoint, good["out"])
    assert result.rc == 0, result.stdout + result.stderr
    assert rows_of(good["out"]) == good["rows"]
    assert json.loads((good["out"] / "cmdb.json").read_text())["complete"] is True


def test_hosts_of_the_plugin_that_give_no_row_keep_the_previous_export(good, stand_in, fleet):
    """A compose that overwrites the published prefix: the plugin's hosts are there, but the export
    cannot read their instance variables. Nothing is written and the run fails."""
    extra = "hostvars_prefix: aws_\ncompose:\n  crossaccount_hostvars_prefix: \"'other_'\"\n"
    good["inv"].write_text(SHARD.format(accounts=ALL, extra=extra))
    result = export(str(good["inv"]), stand_in.endpoint, good["out"])
    assert result.rc == 2, result.stdout + result.stderr
    assert f"the inventory holds {len(fleet)} host(s) made by crossaccount.aws.ec2 but only 0" in result.stdout
    assert "the previous export is left as it was" in result.stdout
    assert files_of(good["out"]) == good["files"]


def _shards(good, second_extra: str):
    base = good["inv"].parent
    one, two = base / "shard1.ec2.yml", base / "shard2.ec2.yml"
    one.write_text(SHARD.format(accounts=FIRST, extra=""))
    two.write_text(SHARD.format(accounts=SECOND, extra=second_extra))
    return str(one), str(two)


def test_two_good_shards_export_every_account(good, stand_in):
    one, two = _shards(good, "")
    result = export(one, stand_in.endpoint, good["out"], "-i", two)
    assert result.rc == 0, result.stdout + result.stderr
    assert rows_of(good["out"]) == good["rows"]


def test_a_shard_that_failed_to_load_keeps_the_previous_export(good, stand_in):
    """The second shard's accounts_file is gone: ansible-core warns and goes on with the first shard
    (2 of 4 accounts). The export writes nothing and fails, naming the source."""
    one, two = _shards(good, "accounts_file: gone.yml\n")
    result = export(one, stand_in.endpoint, good["out"], "-i", two)
    assert result.rc == 2, result.stdout + result.stderr
    assert "1 inventory source(s) of crossaccount.aws.ec2 failed to load" in result.stdout
    assert two in result.stdout
    assert "the previous export is left as it was" in result.stdout
    assert files_of(good["out"]) == good["files"]


def test_a_shard_failed_by_strict_errors_keeps_the_previous_export(good, stand_in):
    """strict_errors fails the second shard after it added its hosts (ansible-core keeps them):
    the export still sees that the source failed."""
    one, two = _shards(good, "strict_errors: true\n")
    stand_in.faults.set_faults([Fault("AccessDenied", action="AssumeRole", account="444444444444", status=403)])
    try:
        result = export(one, stand_in.endpoint, good["out"], "-i", two)
    finally:
        stand_in.faults.reset()
    assert result.rc == 2, result.stdout + result.stderr
    assert "1 inventory source(s) of crossaccount.aws.ec2 failed to load" in result.stdout
    assert files_of(good["out"]) == good["files"]


def test_a_missing_shard_file_keeps_the_previous_export(good, stand_in):
    one, two = _shards(good, "")
    result = export(one, stand_in.endpoint, good["out"], "-i", two + ".gone.ec2.yml")
    assert result.rc == 2, result.stdout + result.stderr
    assert "failed to load" in result.stdout
    assert files_of(good["out"]) == good["files"]
