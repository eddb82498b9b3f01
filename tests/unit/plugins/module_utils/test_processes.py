"""module_utils/processes.py: the scan split over forked processes. These fork for real (Linux);
the scan itself is a stand-in function, the CLI tests run the real one
(tests/integration/test_scan_processes.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import processes
from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import Progress, RegionResult, ScanResult

# pytest-xdist keeps a thread of its own in each worker, so these forks happen in a process with
# two threads, which Python 3.12+ warns about; the plugin itself never forks with more than one
# thread (processes.fork_refusal, tested below), and these children touch no lock of that thread.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

ACCOUNTS = [Account(id=f"{i:012d}", role_arn=f"arn:aws:iam::{i:012d}:role/R", name=f"a{i}") for i in range(1, 8)]


def _record(account: Account, region: str) -> dict:
    return {"instance_id": f"i-{account.id}{region[-1]}", "account_id": account.id, "region": region}


def fake_scan(part, index):
    """What scanner.scan returns for ``part``: two regions per account, one failed region for a1."""
    regions, failures = [], []
    for account in part:
        for region in ("eu-west-1", "us-east-1"):
            if account.name == "a1" and region == "us-east-1":
                failures.append(ScanFailure(account.id, account.name, region, "AccessDenied", "no", "fix it"))
                continue
            regions.append(RegionResult(account, region, [_record(account, region)], "2026-01-01T00:00:00Z"))
    progress = Progress(
        accounts_total=len(part),
        accounts_assumed=len(part),
        tasks_total=2 * len(part),
        tasks_done=2 * len(part),
        tasks_failed=len(failures),
        instances=len(regions),
    )
    planned = {a.id: ["eu-west-1", "us-east-1"] for a in part}
    return ScanResult(regions=regions, failures=failures, progress=progress, planned=planned)


def _summary(result: ScanResult):
    return (
        [(r.account, r.region, r.records, r.scanned_at, r.failures) for r in result.regions],
        result.failures,
        result.planned,
        {k: v for k, v in vars(result.progress).items() if k != "started"},
    )


@pytest.mark.parametrize("n", [2, 3, 7])
def test_the_split_scan_is_the_one_process_scan(n):
    one = processes.merge([fake_scan(ACCOUNTS, 1)], time.monotonic())
    split = processes.scan_split(ACCOUNTS, n, fake_scan)
    assert _summary(split) == _summary(one)
    assert {r.account.id for r in split.regions} == {a.id for a in ACCOUNTS}


def test_every_part_is_scanned_by_its_own_process():
    pids = {}

    def scan_part(part, index):
        result = fake_scan(part, index)
        for r in result.regions:
            r.records[0]["pid"] = os.getpid()
        return result

    result = processes.scan_split(ACCOUNTS, 3, scan_part)
    for r in result.regions:
        pids.setdefault(r.account.id, r.records[0]["pid"])
    assert len(set(pids.values())) == 3
    assert pids[ACCOUNTS[0].id] == os.getpid()  # part 1 stays in this process


def test_split_is_round_robin_and_complete():
    parts = processes.split(ACCOUNTS, 3)
    assert [len(p) for p in parts] == [3, 2, 2]
    assert sorted(a.id for p in parts for a in p) == [a.id for a in ACCOUNTS]
    for max_workers in (1, 2, 5, 64, 65):
        for n in range(1, min(max_workers, 6) + 1):
            shares = [processes.workers_per_process(max_workers, n, i) for i in range(1, n + 1)]
            assert sum(shares) == max_workers and min(shares) >= 1  # the bound holds in all


def test_a_child_that_raises_costs_only_its_accounts():
    def scan_part(part, index):
        if index == 2:
            raise RuntimeError("boom with AKIAIOSFODNN7EXAMPLE")
        return fake_scan(part, index)

    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    part2 = {a.id for a in processes.split(ACCOUNTS, 2)[1]}
    failed = {f.account_id for f in result.failures if f.code == processes.FAILED_CODE}
    assert failed == part2
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS} - part2
    message = next(f.message for f in result.failures if f.code == processes.FAILED_CODE)
    assert "RuntimeError: boom" in message and "AKIAIOSFODNN7EXAMPLE" not in message  # scrubbed
    assert result.progress.accounts_failed == len(part2)


def test_a_killed_child_costs_only_its_accounts():
    def scan_part(part, index):
        if index == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return fake_scan(part, index)

    result = processes.scan_split(ACCOUNTS, 3, scan_part)
    part3 = {a.id for a in processes.split(ACCOUNTS, 3)[2]}
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == part3
    assert all("killed by signal 9" in f.message for f in failures)
    assert len({r.account.id for r in result.regions}) == len(ACCOUNTS) - len(part3)


def test_a_stopped_child_is_killed_after_the_grace_and_costs_only_its_accounts(monkeypatch):
    monkeypatch.setattr(processes, "STOPPED_GRACE", 1.0)

    def scan_part(part, index):
        if index == 2:
            os.kill(os.getpid(), signal.SIGSTOP)  # never continued: it would never finish
        return fake_scan(part, index)

    t0 = time.monotonic()
    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    assert time.monotonic() - t0 < 15
    part2 = {a.id for a in processes.split(ACCOUNTS, 2)[1]}
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == part2
    assert all(f"stopped by signal {int(signal.SIGSTOP)} for 1 s and was killed" in f.message for f in failures)
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS} - part2


def test_a_child_stopped_after_sending_its_result_is_still_waited_for_in_bounds(monkeypatch):
    monkeypatch.setattr(processes, "STOPPED_GRACE", 1.0)

    def scan_part(part, index):
        if index == 2:  # in the child only: it stops between closing its pipe and exiting
            real_exit = os._exit
            os._exit = lambda code: (os.kill(os.getpid(), signal.SIGSTOP), real_exit(code))
        return fake_scan(part, index)

    t0 = time.monotonic()
    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    assert time.monotonic() - t0 < 15
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == {a.id for a in processes.split(ACCOUNTS, 2)[1]}


def test_a_child_stopped_and_continued_within_the_grace_finishes(monkeypatch, tmp_path):
    monkeypatch.setattr(processes, "STOPPED_GRACE", 5.0)
    pidfile = tmp_path / "child.pid"

    def scan_part(part, index):
        if index == 2:
            pidfile.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGSTOP)
        else:  # this process's part: continue the child 1.5 s after it stopped (job control's fg)
            deadline = time.monotonic() + 20
            while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
                time.sleep(0.05)
            timer = threading.Timer(1.5, os.kill, (int(pidfile.read_text()), signal.SIGCONT))
            timer.start()
        return fake_scan(part, index)

    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    assert not [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS}


def test_time_this_process_spends_stopped_itself_does_not_count(monkeypatch, tmp_path):
    """The whole job stopped (this process too) and continued: the clock jumps between two looks
    at the child, which is not taken for one stopped all that time."""
    monkeypatch.setattr(processes, "STOPPED_GRACE", 5.0)
    real = time.monotonic
    jumps = iter(range(10**6))
    monkeypatch.setattr(processes.time, "monotonic", lambda: real() + 60 * next(jumps))
    pidfile = tmp_path / "child.pid"

    def scan_part(part, index):
        if index == 2:
            pidfile.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGSTOP)
        else:
            deadline = real() + 20
            while not (pidfile.exists() and pidfile.read_text()) and real() < deadline:
                time.sleep(0.05)
            threading.Timer(1.0, os.kill, (int(pidfile.read_text()), signal.SIGCONT)).start()
        return fake_scan(part, index)

    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    assert not [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS}


def test_when_this_process_fails_a_stopped_child_is_still_stopped_and_reaped():
    def scan_part(part, index):
        if index == 2:
            os.kill(os.getpid(), signal.SIGSTOP)
            time.sleep(30)
        else:
            time.sleep(0.5)  # the child is stopped by now
            raise KeyboardInterrupt
        return fake_scan(part, index)

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        processes.scan_split(ACCOUNTS, 2, scan_part)
    assert time.monotonic() - t0 < 10


def test_a_child_never_writes_to_stdout(capfd):
    def scan_part(part, index):
        if index == 2:
            print("from the child")
            os.write(1, b"raw from the child\n")
        return fake_scan(part, index)

    processes.scan_split(ACCOUNTS, 2, scan_part)
    out, err = capfd.readouterr()
    assert "child" not in out
    assert "raw from the child" in err


def test_when_this_process_fails_the_children_are_stopped_and_reaped(monkeypatch):
    started = []
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def scan_part(part, index):
        if index == 1:
            raise KeyboardInterrupt
        started.append(index)
        time.sleep(30)
        return fake_scan(part, index)

    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        processes.scan_split(ACCOUNTS, 3, scan_part)
    assert time.monotonic() - t0 < 20
    assert len(forked) == 2
    for pid in forked:  # each child already reaped (other tests' leftovers do not count)
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


# -- what comes back over the pipe is checked -----------------------------------------------------------


def _payload(part, **changes):
    data = json.loads(processes.encode_result(fake_scan(part, 2)))
    data.update(changes)
    return json.dumps(data).encode()


def test_round_trip():
    part = ACCOUNTS[:3]
    decoded = processes.decode_result(processes.encode_result(fake_scan(part, 2)), part)
    assert _summary(decoded) == _summary(fake_scan(part, 2))
    assert decoded.regions[0].account is part[0]  # the parent's own Account objects


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d, other: d["regions"][0].update(account_id=other.id),  # an account of another part
        lambda d, other: d["regions"][0]["records"][0].update(account_id=other.id),  # a host of another
        lambda d, other: d["failures"].append(
            {"account_id": other.id, "account_name": None, "region": None, "code": "X", "message": "m", "hint": ""}
        ),
        lambda d, other: d["regions"][0].update(records="not a list"),
        lambda d, other: d["regions"][0].update(region=["eu-west-1"]),
        lambda d, other: d["failures"].append({"account_id": 1}),
        lambda d, other: d.update(error="the child said so"),
        lambda d, other: d["regions"][0]["failures"].append(  # a region's failure of another account
            {"account_id": other.id, "account_name": None, "region": "x", "code": "X", "message": "m", "hint": ""}
        ),
        lambda d, other: d["regions"].append(d["regions"][0]),  # an account-region twice
    ],
)
def test_a_result_that_is_not_for_this_part_is_refused(tamper):
    part, other = ACCOUNTS[:3], ACCOUNTS[5]
    data = json.loads(processes.encode_result(fake_scan(part, 2)))
    tamper(data, other)
    with pytest.raises((ValueError, KeyError, TypeError, AttributeError)):
        processes.decode_result(json.dumps(data).encode(), part)


@pytest.mark.parametrize(
    "leave_out",
    [
        lambda r, a: (  # an account left out whole: no host, no failure, not planned
            r.regions.__setitem__(slice(None), [x for x in r.regions if x.account is not a]),
            r.planned.pop(a.id),
        ),
        lambda r, a: r.regions.__setitem__(  # one planned region of an account neither listed nor failed
            slice(None), [x for x in r.regions if (x.account, x.region) != (a, "eu-west-1")]
        ),
        lambda r, a: (  # planned with no region at all
            r.regions.__setitem__(slice(None), [x for x in r.regions if x.account is not a]),
            r.planned.__setitem__(a.id, []),
        ),
    ],
    ids=["account", "region", "empty plan"],
)
def test_a_child_result_that_leaves_something_out_fails_its_part(leave_out):
    """A well-formed result that drops an account or a planned region would make its hosts vanish
    with no failure, and the run would look complete: the whole part fails instead."""

    def scan_part(part, index):
        result = fake_scan(part, index)
        if index == 2:
            leave_out(result, part[-1])
        return result

    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    part2 = processes.split(ACCOUNTS, 2)[1]
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == {a.id for a in part2}
    assert all("missing from the result" in f.message for f in failures)
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS} - {a.id for a in part2}


def test_a_result_that_breaks_the_reader_costs_only_its_part():
    """What a child sends can make the reading raise more than ValueError: an infinite count
    (OverflowError in int()), nesting deeper than the interpreter's recursion limit (RecursionError
    in json.loads). Either costs the child's part, never the whole run."""

    def scan_part(part, index):
        result = fake_scan(part, index)
        if index == 2:
            result.progress.instances = float("inf")  # json.dumps writes Infinity
        return result

    result = processes.scan_split(ACCOUNTS, 2, scan_part)
    part2 = {a.id for a in processes.split(ACCOUNTS, 2)[1]}
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == part2
    assert "OverflowError" in failures[0].message
    assert {r.account.id for r in result.regions} == {a.id for a in ACCOUNTS} - part2

    child = processes._Child(pid=0, read_fd=-1, part=ACCOUNTS[:2])
    child.status = 0
    child.chunks = [b"[" * 200_000 + b"]" * 200_000]
    assert [f.code for f in child.result().failures] == [processes.FAILED_CODE] * 2


def test_an_unreadable_result_becomes_failures_of_the_part():
    child = processes._Child(pid=0, read_fd=-1, part=ACCOUNTS[:2])
    child.status = 0
    child.chunks = [b'{"regions": [']
    result = child.result()
    assert [f.account_id for f in result.failures] == [a.id for a in ACCOUNTS[:2]]
    assert all(f.code == processes.FAILED_CODE and "could not be read" in f.message for f in result.failures)


# -- how many processes ------------------------------------------------------------------------------


def test_process_count(monkeypatch):
    monkeypatch.setattr(processes, "usable_cpus", lambda: 8)
    monkeypatch.setattr(processes, "fork_refusal", lambda: None)
    assert processes.process_count(0, 200, 64)[0] == processes.AUTO_MAX_PROCESSES
    assert processes.process_count(0, processes.AUTO_MIN_ACCOUNTS - 1, 64)[0] == 1
    assert processes.process_count(1, 200, 64)[0] == 1
    assert processes.process_count(3, 200, 64)[0] == 3
    assert processes.process_count(6, 4, 64)[0] == 4  # never more processes than accounts
    assert processes.process_count(2, 1, 64)[0] == 1
    assert processes.process_count(8, 200, 3)[0] == 3  # nor than max_workers
    assert processes.process_count(0, 200, 1)[0] == 1
    monkeypatch.setattr(processes, "usable_cpus", lambda: 1)
    assert processes.process_count(0, 200, 64)[0] == 1
    monkeypatch.setattr(processes, "fork_refusal", lambda: "macOS")
    assert processes.process_count(4, 200, 64) == (1, "macOS")


def test_no_fork_while_another_thread_runs(monkeypatch):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        # pytest-xdist, and servers of earlier tests, may run threads of their own: count them alike
        refusal = processes.fork_refusal()
        assert refusal is not None and re.fullmatch(r"\d+ other thread\(s\) are running", refusal), refusal
        assert int(refusal.split()[0]) >= 1
    finally:
        stop.set()
        t.join()
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert processes.fork_refusal() == "1 other thread(s) are running"
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert processes.fork_refusal() is None


@pytest.mark.parametrize(
    ("cpu_max", "affinity", "expected"),
    [("max 100000\n", 4, 4), ("200000 100000\n", 8, 2), ("150000 100000\n", 8, 1), ("50000 100000\n", 8, 1)],
)
def test_usable_cpus_follow_the_container_quota(monkeypatch, tmp_path, cpu_max, affinity, expected):
    real_open = open

    def fake_open(path, *args, **kwargs):
        if path == "/sys/fs/cgroup/cpu.max":
            (tmp_path / "cpu.max").write_text(cpu_max)
            return real_open(tmp_path / "cpu.max", *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(affinity)))
    assert processes.usable_cpus() == expected


def test_a_result_past_the_bound_is_drained_and_refused(monkeypatch):
    monkeypatch.setattr(processes, "_MAX_PAYLOAD", 1000)

    def scan_part(part, index):
        result = fake_scan(part, index)
        if index == 2:
            result.regions[0].records[0]["padding"] = "x" * 200_000  # more than a pipe holds
        return result

    result = processes.scan_split(ACCOUNTS, 2, scan_part)  # returns: the child is not left blocked
    part2 = {a.id for a in processes.split(ACCOUNTS, 2)[1]}
    failures = [f for f in result.failures if f.code == processes.FAILED_CODE]
    assert {f.account_id for f in failures} == part2
    assert "larger than 1000 bytes" in failures[0].message


def test_a_child_stops_when_its_parent_is_killed(tmp_path):
    pidfile = tmp_path / "child.pid"

    def scan_part(part, index):
        if index == 2:
            pidfile.write_text(str(os.getpid()))
        time.sleep(60)
        return fake_scan(part, index)

    parent = os.fork()
    if parent == 0:  # a stand-in for the inventory process
        try:
            processes.scan_split(ACCOUNTS, 2, scan_part)
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 20
        while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pidfile.exists() and pidfile.read_text(), "the scan process was never forked"
        child = int(pidfile.read_text())
    finally:
        os.kill(parent, signal.SIGKILL)
        os.waitpid(parent, 0)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the child kept scanning after its parent died"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped
    except OSError:
        return False
