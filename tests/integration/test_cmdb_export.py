"""The CMDB export through the real ansible-playbook CLI (the crossaccount.aws.cmdb_export playbook)
against the seeded Example Corp fleet: content row by row, failures and stale rows listed with the
export, the atomic replace (a failed write leaves the previous export), and the refusal to write
when the inventory did not load."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import ACCOUNTS, EVIL_TAG
from tests.support.inventories import example_inventory

# the Environment tag example_corp() gives every named instance of an account
ENVIRONMENTS = {"111111111111": "shared", "222222222222": "dev", "333333333333": "test", "444444444444": "prod"}
FILES = ("cmdb.csv", "cmdb.json", "cmdb-errors.csv")


def playbook(inventory: str, endpoint: str, out_dir: str, *args: str, preexec_fn=None) -> cli.Result:
    tag_columns = '{"cmdb_export_tag_columns": ["Environment", "Notes"]}'
    return cli.export(inventory, endpoint, out_dir, "-e", tag_columns, *args, preexec_fn=preexec_fn)


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def snapshot(out_dir) -> dict[str, bytes]:
    return {name: (out_dir / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def exported(stand_in, fleet, tmp_path_factory):
    """Run 1: a clean export (cache on). Run 2: account 333333333333 cannot be assumed and
    444444444444/ap-southeast-2 is denied, fail_on_errors on: their hosts come from the cache,
    marked stale, and the failures are listed with the export."""
    base = tmp_path_factory.mktemp("cmdb")
    out = base / "out"
    out.mkdir()
    inventory = base / "cmdb.ec2.yml"
    cache = f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {base / 'cache'}\n"
    inventory.write_text(example_inventory(cache))
    faults = stand_in.faults
    faults.reset()
    first = playbook(str(inventory), stand_in.endpoint, str(out), "--flush-cache")
    assert first.rc == 0, first.stdout + first.stderr
    first_files = snapshot(out)
    faults.set_faults(
        [
            Fault("AccessDenied", action="AssumeRole", account="333333333333", status=403),
            Fault("UnauthorizedOperation", action="DescribeInstances", account="444444444444", region="ap-southeast-2"),
        ]
    )
    try:
        second = playbook(
            str(inventory), stand_in.endpoint, str(out), "--flush-cache", "-e", "cmdb_export_fail_on_errors=true"
        )
    finally:
        faults.reset()
    return {"base": base, "out": out, "first": first, "first_files": first_files, "second": second}


def expected_rows(fleet):
    rows = []
    for inst in fleet:
        rows.append(
            {
                "account_id": inst["account"],
                "account_name": "" if inst["account"] == "111111111111" else ACCOUNTS[inst["account"]],
                "region": inst["region"],
                "instance_id": inst["instance_id"],
                "name": inst["name"] or "",
                "state": inst["state"],
                "instance_type": inst["instance_type"],
                "private_ip_address": inst["private_ip_address"],
            }
        )
    return sorted(rows, key=lambda r: (r["account_id"], r["region"], r["instance_id"]))


def test_csv_and_json_row_by_row(exported, fleet):
    files = exported["first_files"]
    rows = list(csv.DictReader(io.StringIO(files["cmdb.csv"].decode("utf-8"))))
    header = files["cmdb.csv"].decode("utf-8").splitlines()[0].split(",")
    assert header[:9] == ["account_id", "account_name", "region", "instance_id", "name", "state", "instance_type"] + [
        "private_ip_address",
        "public_ip_address",
    ]
    assert {"launch_time", "stale", "scanned_at", "tag_Environment", "tag_Notes"} <= set(header)
    expected = expected_rows(fleet)
    assert len(rows) == len(expected)
    by_id = {i["instance_id"]: i for i in fleet}
    for row, want in zip(rows, expected, strict=True):
        assert {k: row[k] for k in want} == want
        assert row["launch_time"].startswith("20") and row["stale"] == "false"
        assert row["availability_zone"].startswith(row["region"])
        inst = by_id[row["instance_id"]]
        assert row["tag_Notes"] == (EVIL_TAG if inst["name"] == "db" else "")
        assert row["tag_Environment"] == ("" if inst["name"] is None else ENVIRONMENTS[inst["account"]])

    text = files["cmdb.json"].decode("utf-8")
    assert "__ansible_unsafe" not in text
    doc = json.loads(text)
    assert doc["complete"] is True and doc["errors"] == []
    assert doc["counts"] == {"instances": len(fleet), "stale_instances": 0, "accounts": len(ACCOUNTS), "errors": 0}
    assert len(doc["instances"]) == len(rows)
    for item, row in zip(doc["instances"], rows, strict=True):
        assert item["stale"] is False
        for column in doc["columns"]:
            if column != "stale":
                assert item[column] == row[column], column
        inst = by_id[item["instance_id"]]
        if inst["name"]:
            assert item["tags"]["Name"] == inst["name"]
    db = next(i for i in doc["instances"] if i["name"] == "db")
    assert db["tags"]["Notes"] == EVIL_TAG  # plain, untemplated
    assert files["cmdb-errors.csv"].decode("utf-8").strip() == (
        "account_id,account_name,region,code,message,hint,stale_hosts,stale_since"
    )


def test_failures_and_stale_rows_are_listed_with_the_export(exported, fleet):
    second = exported["second"]
    out = exported["out"]
    assert second.rc != 0, "fail_on_errors makes the run fail"
    assert "fail_on_errors is on; the export was written" in second.stdout
    rows = read_csv(out / "cmdb.csv")
    assert {r["instance_id"] for r in rows} == {i["instance_id"] for i in fleet}, "nothing vanished"
    stale_expected = {
        i["instance_id"]
        for i in fleet
        if i["account"] == "333333333333" or (i["account"] == "444444444444" and i["region"] == "ap-southeast-2")
    }
    first_scan = {r["instance_id"]: r["scanned_at"] for r in read_csv_bytes(exported["first_files"]["cmdb.csv"])}
    for row in rows:
        assert row["stale"] == ("true" if row["instance_id"] in stale_expected else "false")
        if row["stale"] == "true":  # the data of the last successful scan, with its time
            assert row["scanned_at"] == first_scan[row["instance_id"]]
    errors = read_csv(out / "cmdb-errors.csv")
    assert [(e["account_id"], e["region"], e["code"], e["stale_hosts"]) for e in errors] == [
        ("333333333333", "", "AccessDenied", "2"),
        ("444444444444", "ap-southeast-2", "UnauthorizedOperation", "3"),
    ]
    assert errors[0]["account_name"] == "testing"
    assert errors[0]["stale_since"] == min(
        first_scan[i] for i in stale_expected if by_account(fleet, i) == "333333333333"
    )
    doc = json.loads((out / "cmdb.json").read_text())
    assert doc["complete"] is False
    assert doc["counts"]["stale_instances"] == len(stale_expected) and doc["counts"]["errors"] == 2
    assert {i["instance_id"] for i in doc["instances"] if i["stale"]} == stale_expected


def by_account(fleet, instance_id: str) -> str:
    return next(i["account"] for i in fleet if i["instance_id"] == instance_id)


def read_csv_bytes(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_failed_write_leaves_the_previous_export(exported, stand_in):
    """The next run fails half way through writing (the file size limit makes write() fail with
    EFBIG, as a full disk would): the previous export is intact and no temporary file is left."""
    out, base = exported["out"], exported["base"]
    before = snapshot(out)
    inventory = base / "nocache.ec2.yml"
    inventory.write_text(example_inventory())
    limit = len(before["cmdb-errors.csv"]) + 2048  # the errors file fits, the JSON document does not
    assert limit < len(before["cmdb.json"])

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    stand_in.faults.reset()
    result = playbook(str(inventory), stand_in.endpoint, str(out), preexec_fn=small_files)
    assert result.rc != 0
    assert "(File too large)" in result.stdout, "the write itself failed, half way"
    assert "could not write the export" in result.stdout and "the previous export is left as it was" in result.stdout
    assert snapshot(out) == before
    assert sorted(os.listdir(out)) == sorted([*FILES, ".cmdb.lock"])


def _without_cap_fowner():
    """Drop CAP_FOWNER (before exec): root can then chmod only the files it owns, as the export's
    user can only chmod its own files."""
    import ctypes

    pr_capbset_drop, cap_fowner = 24, 3
    if ctypes.CDLL(None, use_errno=True).prctl(pr_capbset_drop, cap_fowner, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_FOWNER)")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_mode_that_cannot_be_applied_leaves_the_whole_previous_export(exported, stand_in):
    """cmdb-errors.csv (no failure: the same header-only bytes again) belongs to another user, so
    the new mode cannot be applied to it. The run fails before any file is replaced: the other two
    files, whose content changed, are not replaced either, as the message says."""
    try:  # a container may deny PR_CAPBSET_DROP (no CAP_SETPCAP): nothing to prove with it then
        subprocess.run(["true"], check=True, preexec_fn=_without_cap_fowner)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot drop CAP_FOWNER here: {exc}")
    base = exported["base"]
    out = base / "foreign"
    out.mkdir()
    inventory = base / "foreign.ec2.yml"
    inventory.write_text(example_inventory())
    stand_in.faults.reset()
    first = playbook(str(inventory), stand_in.endpoint, str(out))
    assert first.rc == 0, first.stdout + first.stderr
    before = snapshot(out)
    os.chown(out / "cmdb-errors.csv", 4242, 4242)
    result = playbook(
        str(inventory), stand_in.endpoint, str(out), "-e", "cmdb_export_mode=0640", preexec_fn=_without_cap_fowner
    )
    assert result.rc != 0
    assert "(Operation not permitted" in result.stdout, result.stdout
    assert "the previous export is left as it was" in result.stdout
    assert snapshot(out) == before
    assert {oct(os.stat(out / name).st_mode & 0o777) for name in FILES} == {"0o644"}
    assert sorted(os.listdir(out)) == sorted([*FILES, ".cmdb.lock"])


def test_refuses_to_write_when_the_inventory_did_not_load(exported, stand_in):
    out, base = exported["out"], exported["base"]
    before = snapshot(out)
    broken = base / "broken.ec2.yml"
    broken.write_text("plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: [111111111111]\n")
    result = playbook(str(broken), stand_in.endpoint, str(out))
    assert result.rc != 0
    assert "inventory did not load" in result.stdout and "refusing to write" in result.stdout
    assert snapshot(out) == before


def test_check_mode_counts_and_writes_nothing(exported, stand_in, fleet):
    out, base = exported["out"], exported["base"]
    before = snapshot(out)
    inventory = base / "check.ec2.yml"
    inventory.write_text(example_inventory())
    stand_in.faults.reset()
    result = playbook(str(inventory), stand_in.endpoint, str(out), "--check", "-v")
    assert result.rc == 0, result.stdout + result.stderr
    assert f"exported {len(fleet)} instance(s) of {len(ACCOUNTS)} account(s)" in result.stdout
    assert "changed: [localhost]" in result.stdout
    assert snapshot(out) == before
    assert sorted(os.listdir(out)) == sorted([*FILES, ".cmdb.lock"])


def test_shrink_guard_keeps_the_previous_export(exported, stand_in, fleet):
    """A new export with far fewer instances (here a filter leaves one account's) does not replace
    the previous one when cmdb_export_max_drop_percent says so."""
    out, base = exported["out"], exported["base"]
    before = snapshot(out)
    inventory = base / "shrunk.ec2.yml"
    inventory.write_text(example_inventory('filters:\n  owner-id: "111111111111"\n'))
    stand_in.faults.reset()
    result = playbook(str(inventory), stand_in.endpoint, str(out), "-e", "cmdb_export_max_drop_percent=50")
    assert result.rc != 0
    kept = sum(1 for i in fleet if i["account"] == "111111111111")
    assert f"would shrink from {len(fleet)} to {kept} instance(s)" in result.stdout
    assert snapshot(out) == before
