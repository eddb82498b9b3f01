"""scan_processes through the real ansible-inventory CLI, on moto with the fault layer
(module_utils/processes.py): the accounts split over forked processes give the same inventory as one
process, failures in any part are reported, -v shows each process's progress, and a part whose
process dies costs only its own accounts (each reported, never a quiet gap)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import ACCOUNTS, EVIL_TAG

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
IDS = sorted(ACCOUNTS)

CONFIG = """
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{regions}]
max_attempts: 2
accounts:
{accounts}
{extra}
"""


def config(extra: str = "") -> str:
    accounts = "".join(f'  - id: "{a}"\n' for a in IDS)
    return CONFIG.format(regions=", ".join(REGIONS), accounts=accounts, extra=extra)


def _without_times(result) -> dict:
    data = dict(result.data)
    hostvars = {
        name: {k: v for k, v in hv.items() if k != "crossaccount_scanned_at"}
        for name, hv in data.pop("_meta")["hostvars"].items()
    }
    return {"hostvars": hostvars, "groups": data}


@pytest.fixture(scope="module")
def one_process(stand_in, fleet, tmp_path_factory):
    stand_in.faults.reset()
    path = tmp_path_factory.mktemp("processes") / "one.ec2.yml"
    path.write_text(config("scan_processes: 1"))
    result = cli.inventory(str(path), stand_in.endpoint, "--list", "-v")
    assert result.rc == 0, result.stderr
    return result


@pytest.mark.parametrize("n", [2, 3])
def test_split_scan_lists_the_same_inventory(one_process, stand_in, write_inventory, n):
    path = write_inventory(config(f"scan_processes: {n}"))
    result = cli.inventory(path, stand_in.endpoint, "--list", "-v")
    assert result.rc == 0, result.stderr
    assert _without_times(result) == _without_times(one_process)
    assert f"scanning {len(IDS)} accounts in {n} processes (scan_processes: {n})" in result.stdout + result.stderr
    assert "accounts in " not in one_process.stdout + one_process.stderr
    assert ": process 1/" not in one_process.stderr
    for k in range(1, n + 1):
        assert f"crossaccount.aws.ec2: process {k}/{n}: accounts assumed" in result.stderr
    counts = Counter(hv["instance_id"] for hv in result.hostvars.values())
    assert counts and set(counts.values()) == {1}
    for hv in result.hostvars.values():
        assert hv["owner_id"] == hv["account_id"]
    # the fleet's hostile tag (account 222222222222, scanned by a child) crossed the pipe verbatim
    # and is still printed as untrusted text, never templated
    assert EVIL_TAG[:2] == "{{" and "222222222222" in IDS[1::2]
    evil = [hv for hv in result.raw["_meta"]["hostvars"].values() if "Notes" in hv["ec2_tags"]]
    assert [hv["ec2_tags"]["Notes"] for hv in evil] == [{"__ansible_unsafe": EVIL_TAG}]
    assert "uid=" not in result.stdout
    finished = [line for line in result.stderr.splitlines() if "scan finished" in line]
    assert len(finished) == 1 and f"accounts assumed {len(IDS)}/{len(IDS)}" in finished[0]


def test_failures_in_every_part_are_reported(stand_in, fleet, write_inventory):
    # round-robin parts of the sorted ids with 2 processes: IDS[0::2] here, IDS[1::2] in the child
    denied, broken_region = IDS[1], IDS[2]
    stand_in.faults.reset()
    stand_in.faults.set_faults(
        [
            Fault(code="AccessDenied", action="AssumeRole", account=denied, status=403, message="denied"),
            Fault(
                code="AuthFailure", action="DescribeInstances", account=broken_region, region="eu-west-1", status=401
            ),
        ]
    )
    try:
        path = write_inventory(config("scan_processes: 2"))
        result = cli.inventory(path, stand_in.endpoint, "--list", "--export", "-v")
    finally:
        stand_in.faults.reset()
    assert result.rc == 0, result.stderr
    assert f"scanning {len(IDS)} accounts in 2 processes" in result.stdout
    errors = {(e["account_id"], e["region"], e["code"]) for e in result.data["all"]["vars"]["crossaccount_errors"]}
    assert errors == {(denied, None, "AccessDenied"), (broken_region, "eu-west-1", "AuthFailure")}
    listed = {(hv["account_id"], hv["region"]) for hv in result.hostvars.values()}
    lost = {(broken_region, "eu-west-1")}
    expected = {
        (i["account"], i["region"])
        for i in fleet
        if i["region"] in REGIONS and i["account"] != denied and (i["account"], i["region"]) not in lost
    }
    assert listed == expected


def test_strict_errors_fails_the_run_for_a_failure_in_a_child(stand_in, fleet, write_inventory):
    stand_in.faults.reset()
    stand_in.faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account=IDS[1], status=403)])
    try:
        path = write_inventory(config("scan_processes: 2\nstrict_errors: true"))
        result = cli.inventory(
            path, stand_in.endpoint, "--list", "-v", extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
        )
    finally:
        stand_in.faults.reset()
    assert f"scanning {len(IDS)} accounts in 2 processes" in result.stdout
    assert result.rc != 0
    assert IDS[1] in result.stderr and "AccessDenied" in result.stderr


@pytest.mark.parametrize("value", ["-1", "65", "two"])
def test_bad_values_are_one_line_naming_the_key(stand_in, write_inventory, value):
    path = write_inventory(config(f"scan_processes: {value}"))
    result = cli.inventory(path, stand_in.endpoint, extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.rc != 0
    assert "scan_processes" in result.stderr


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _scan_children(pid: int) -> list[int]:
    """The forked scan processes of ``pid``: children running the parent's own command line.
    ansible-core starts short-lived children of its own (``ldconfig -p`` from ctypes' find_library,
    exec'd): those are not scan processes and may be gone a moment later."""
    own = _cmdline(pid)
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(x) for x in fh.read().split()]
    except OSError:
        return []
    return [child for child in found if own is not None and _cmdline(child) == own]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "stopped"])
def test_a_killed_scan_process_costs_only_its_accounts(stand_in, fleet, write_inventory, sig):
    """The child scanning half of the accounts is killed (as the OOM killer would) or stopped (it
    would never finish: the run would hang) while its calls are slow: its accounts are each
    reported as failed, the other half is listed in full."""
    child_part, own_part = IDS[1::2], IDS[0::2]
    stand_in.faults.reset()
    stand_in.faults.set_faults(
        # slow enough that the child is still scanning when it is killed, however busy the machine
        [Fault(code="-", action="DescribeInstances", account=a, delay_s=60, hang_only=True) for a in child_part]
    )
    path = write_inventory(config("scan_processes: 2\nread_timeout: 120"))
    proc = subprocess.Popen(
        [os.path.join(cli.BIN, "ansible-inventory"), "-i", path, "--list", "--export"],
        env=cli.ansible_env(stand_in.endpoint),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        forked: list[int] = []
        while not forked and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = _scan_children(proc.pid)
            if not seen:
                continue
            time.sleep(0.5)  # a vfork'd child shares the parent's command line only until its exec
            forked = [child for child in _scan_children(proc.pid) if child in seen]
        if not forked:
            proc.kill()
            pytest.fail(f"no scan process was forked; stderr: {proc.communicate()[1]}")
        os.kill(forked[0], sig)
        out, err = proc.communicate(timeout=120)
    finally:
        stand_in.faults.reset()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    result = cli.Result(proc.returncode, out, err)
    errors = result.data["all"]["vars"]["crossaccount_errors"]
    assert {(e["account_id"], e["code"]) for e in errors} == {(a, "ScanProcessFailed") for a in child_part}
    cause = "killed by signal 9" if sig == signal.SIGKILL else f"stopped by signal {int(signal.SIGSTOP)} for 10 s"
    assert all(cause in e["message"] for e in errors), errors[0]["message"]
    for a in child_part:
        assert f"account {a}: ScanProcessFailed: " in err
    listed = {(hv["account_id"], hv["region"]) for hv in result.hostvars.values()}
    assert listed == {(i["account"], i["region"]) for i in fleet if i["region"] in REGIONS and i["account"] in own_part}
