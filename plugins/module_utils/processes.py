# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scan on more than one core: the accounts split over forked processes.

One Python process runs the scan's CPU work (botocore's request path, parsing) on one core at a
time, whatever ``max_workers`` is. With ``scan_processes`` above 1 (or automatically, see
``process_count``) the accounts are split round-robin into n parts; n - 1 parts are scanned by
forked copies of the process and one by the process itself, each on its own thread pool, the
``max_workers`` threads shared out between them, so the bound on concurrent AWS calls stays
``max_workers``.

* **Fork, before any thread.** A child is forked while the process has one thread (checked: with
  more, the scan stays in one process), before the pools and the reader threads start. It makes its
  own botocore session and clients (``scan_part``): no connection of the parent is used in it. Its
  stdout is pointed at stderr at once (stdout is the inventory), it never runs the parent's exit
  handlers (``os._exit``), and it sends its result as JSON over a pipe. It stops when the parent
  dies (a lifeline pipe whose other end only the parent holds), and the parent stops and reaps its
  children when it fails itself. A child the parent sees stopped by a signal for ``STOPPED_GRACE``
  seconds is killed (it would never finish, and the run would hang).
* **Nothing lost.** The parent takes only account-regions of the accounts it gave the child, and
  only as plain JSON values (account ids are looked up in the parent's own list); every account of
  the part must be in the result (failed, or each planned region listed or failed). A child that
  fails, is killed, or sends something unreadable costs no other account: every account of its
  part becomes one failure (``ScanProcessFailed``, with the cause), so stale-if-error and
  ``strict_errors`` treat them like any failed account, and the run never looks complete.
* **Where it is not used.** No ``os.fork`` (Windows), macOS (fork without exec is unsafe with its
  system libraries), another thread already running, or a single usable CPU (affinity and the
  cgroup CPU quota of a container both count).

No ansible-core import: the engine's rule (tests/unit/test_layering.py)."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, fields
from typing import Any, Callable, Sequence

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure, bounded, safe_text
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import Progress, RegionResult, ScanResult

AUTO_MIN_ACCOUNTS = 20  # below this the second process's start-up costs more than it saves
AUTO_MAX_PROCESSES = 4
FAILED_CODE = "ScanProcessFailed"
_MAX_PAYLOAD = 2 * 1024**3
# A child seen stopped by a signal (SIGSTOP, SIGTSTP, SIGTTIN/SIGTTOU) for this long, while this
# process runs, is killed and its part reported: a stopped process never finishes by itself, and
# waiting for it would hang the inventory. Counted from when this process first sees it stopped,
# so a whole job stopped and continued together (Ctrl-Z, fg) is never taken for one.
STOPPED_GRACE = 10.0


def _cgroup_cpu_limit() -> float | None:
    """The CPU quota of this process's cgroup in CPUs (containers, AWX execution nodes), or None."""
    try:  # cgroup v2: "max 100000" or "<quota> <period>"
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as fh:
            quota_us = int(fh.read().strip())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as fh:
            period_us = int(fh.read().strip())
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, bounded by the cgroup quota (rounded down)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, max(1, math.floor(limit)))
    return max(1, n)


def fork_refusal() -> str | None:
    """Why the scan cannot be split over forked processes here, or None."""
    if not hasattr(os, "fork"):
        return "this platform has no fork()"
    if sys.platform == "darwin":
        return "fork() without exec is not safe on macOS"
    if threading.active_count() > 1:
        return f"{threading.active_count() - 1} other thread(s) are running"
    return None


def process_count(setting: int, accounts: int, max_workers: int) -> tuple[int, str]:
    """(number of processes, why) for ``scan_processes: setting`` (0: automatic), this many
    accounts and ``max_workers`` (never more processes than either)."""
    n, why = _process_count(setting, accounts)
    if n > max_workers:
        return max(1, max_workers), f"{why}; max_workers: {max_workers} bounds the processes"
    return n, why


def _process_count(setting: int, accounts: int) -> tuple[int, str]:
    if accounts < 2:
        return 1, "one account"
    if setting == 1:
        return 1, "scan_processes: 1"
    refusal = fork_refusal()
    if refusal:
        return 1, refusal
    if setting > 1:
        return min(setting, accounts), f"scan_processes: {setting}"
    if accounts < AUTO_MIN_ACCOUNTS:
        return 1, f"fewer than {AUTO_MIN_ACCOUNTS} accounts"
    cpus = usable_cpus()
    n = min(cpus, AUTO_MAX_PROCESSES, accounts)
    return n, f"{cpus} usable CPU(s)"


def split(accounts: Sequence[Account], n: int) -> list[list[Account]]:
    """Round-robin parts (accounts listed together, often alike, land in different parts)."""
    return [list(accounts[i::n]) for i in range(n)]


def workers_per_process(max_workers: int, n: int, index: int) -> int:
    """Threads of process ``index`` (1..n): ``max_workers`` shared out, so that the processes
    together never run more than ``max_workers`` AWS calls at once (``process_count`` keeps
    n <= max_workers)."""
    base, extra = divmod(max_workers, n)
    return base + (1 if index <= extra else 0)


# -- the result over the pipe ------------------------------------------------------------------------

_COUNTS = tuple(f.name for f in fields(Progress) if f.name != "started")  # what Progress counts


def encode_result(result: ScanResult) -> bytes:
    return json.dumps(
        {
            "regions": [
                {
                    "account_id": r.account.id,
                    "region": r.region,
                    "records": r.records,
                    "scanned_at": r.scanned_at,
                    "failures": [asdict(f) for f in r.failures],
                }
                for r in result.regions
            ],
            "failures": [asdict(f) for f in result.failures],
            "planned": result.planned,
            "progress": {name: getattr(result.progress, name) for name in _COUNTS},
        },
        separators=(",", ":"),
    ).encode("utf-8")


_FAILURE_FIELDS = tuple(f.name for f in fields(ScanFailure))


def _failure(value: Any) -> ScanFailure:
    if not isinstance(value, dict) or set(value) != set(_FAILURE_FIELDS):
        raise ValueError("a failure that is not one")
    for name in ("account_id", "code", "message", "hint"):
        if not isinstance(value[name], str):
            raise ValueError(f"failure {name} is not text")
    for name in ("account_name", "region"):
        if value[name] is not None and not isinstance(value[name], str):
            raise ValueError(f"failure {name} is not text")
    return ScanFailure(**value)


def decode_result(payload: bytes, part: Sequence[Account]) -> ScanResult:
    """A child's ScanResult, taking only what concerns the accounts of its part; ValueError when
    the payload is not one."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("not a scan result")
    if "error" in data:
        raise ValueError(bounded(str(data["error"]), 500))
    by_id = {a.id: a for a in part}
    regions = []
    seen: set[tuple[str, str]] = set()
    for item in data["regions"]:
        account = by_id.get(item["account_id"])
        records = item["records"]
        if account is None or not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("an account-region of an account that is not in this part")
        if not isinstance(item["region"], str) or not isinstance(item["scanned_at"], str):
            raise ValueError("a region or a scan time that is not text")
        if any(r.get("account_id") != account.id for r in records):
            raise ValueError("a host of another account")
        if (account.id, item["region"]) in seen:
            raise ValueError("an account-region given twice")
        seen.add((account.id, item["region"]))
        region_failures = [_failure(f) for f in item["failures"]]
        if any(f.account_id != account.id for f in region_failures):
            raise ValueError("a failure of another account")
        regions.append(
            RegionResult(
                account=account,
                region=item["region"],
                records=records,
                scanned_at=item["scanned_at"],
                failures=region_failures,
            )
        )
    failures = [_failure(f) for f in data["failures"]]
    if any(f.account_id not in by_id for f in failures):
        raise ValueError("a failure of an account that is not in this part")
    planned = {k: list(v) for k, v in data["planned"].items() if k in by_id and isinstance(v, list)}
    _check_complete(part, regions, failures, planned)
    progress = Progress(**{k: int(v) for k, v in data["progress"].items() if k in _COUNTS})
    return ScanResult(regions=regions, failures=failures, progress=progress, planned=planned)


def _check_complete(
    part: Sequence[Account], regions: list[RegionResult], failures: list[ScanFailure], planned: dict[str, list]
) -> None:
    """Every account of the part is in the result as scanner.scan leaves it: failed as a whole, or
    planned with each planned region listed or failed. A result that leaves an account or a region
    out would make its hosts vanish with no failure: ValueError, and the part fails."""
    failed_accounts = {f.account_id for f in failures if f.region is None}
    done = {(r.account.id, r.region) for r in regions} | {(f.account_id, f.region) for f in failures}
    for account in part:
        if account.id in failed_accounts:
            continue
        if not planned.get(account.id):
            raise ValueError(f"account {account.id} is missing from the result")
        missing = [r for r in planned[account.id] if (account.id, r) not in done]
        if missing:
            region = bounded(missing[0], 40)
            raise ValueError(f"account {account.id}: planned region {region} is missing from the result")


def failed_part(part: Sequence[Account], cause: str) -> ScanResult:
    """Every account of a part whose process failed, as one failure each."""
    message = safe_text(f"the process scanning this account failed: {cause}", 500)
    hint = "run again; with scan_processes: 1 the scan stays in one process (see docs/scaling.md)"
    failures = [ScanFailure(a.id, a.name, None, FAILED_CODE, message, hint) for a in part]
    progress = Progress(accounts_total=len(part), accounts_failed=len(part))
    return ScanResult(regions=[], failures=failures, progress=progress)


def merge(results: Sequence[ScanResult], started: float) -> ScanResult:
    """One ScanResult of the parts': counts added up, in scanner.scan's order."""
    progress = Progress(started=started)
    merged = ScanResult(regions=[], failures=[], progress=progress)
    for r in results:
        merged.regions.extend(r.regions)
        merged.failures.extend(r.failures)
        merged.planned.update(r.planned)
        for name in _COUNTS:
            setattr(progress, name, getattr(progress, name) + getattr(r.progress, name))
    merged.sort()
    return merged


# -- forking -------------------------------------------------------------------------------------------


def _child(part: list[Account], index: int, write_fd: int, life_fd: int, scan_part: Callable[..., ScanResult]) -> None:
    """In the forked child: scan ``part``, write the result. Never returns: the caller leaves
    through ``os._exit`` (no exit handler of the parent runs here)."""
    os.dup2(2, 1)  # stdout is the parent's inventory output: nothing of the child goes there
    sys.stdout = sys.stderr
    # the lifeline: its other end is held by the parent only; end of file means the parent is gone
    threading.Thread(target=_exit_with_parent, args=(life_fd,), name="crossaccount-lifeline", daemon=True).start()
    try:
        payload = encode_result(scan_part(part, index))
    except BaseException as exc:  # noqa: BLE001 - whatever happens is reported for the part
        payload = json.dumps({"error": safe_text(f"{type(exc).__name__}: {exc}", 400)}).encode("utf-8")
    with os.fdopen(write_fd, "wb") as fh:
        fh.write(payload)


def _exit_with_parent(life_fd: int) -> None:
    try:
        while os.read(life_fd, 1):
            pass
    except OSError:
        pass
    os._exit(3)  # the parent died (or was killed): nobody will read this part; stop scanning


class _Child:
    def __init__(self, pid: int, read_fd: int, part: list[Account]) -> None:
        self.pid, self.read_fd, self.part = pid, read_fd, part
        self.chunks: list[bytes] = []
        self.size = 0
        self.reader: threading.Thread | None = None
        self.status: int | None = None
        self.stopped_by: int | None = None  # the signal that had stopped it when it was killed

    def wait(self) -> None:
        """Until the child has sent everything and exited; one left stopped for ``STOPPED_GRACE``
        seconds is killed (SIGKILL ends a stopped process too). The seconds are counted only while
        this process runs: stopped itself with its children (a job stopped as a whole), it does not
        take them, once continued, for stopped ones."""
        if self.reader is None:
            os.close(self.read_fd)  # nobody reads: its writes fail and it ends
        stopped_for = None  # seconds this process has seen the child stopped
        last = time.monotonic()
        while self.status is None:
            if self.reader is not None and self.reader.is_alive():
                self.reader.join(0.2)
            else:
                time.sleep(0.01)  # it ends right after closing its pipe
            now = time.monotonic()
            step, last = min(now - last, 0.5), now
            pid, status = os.waitpid(self.pid, os.WNOHANG | os.WUNTRACED | os.WCONTINUED)
            if pid and os.WIFSTOPPED(status):
                stopped_for, self.stopped_by = 0.0, os.WSTOPSIG(status)
            elif pid and os.WIFCONTINUED(status):
                stopped_for, self.stopped_by = None, None
            elif pid:  # it exited: its pipe is closed, the reader ends
                self.status = status
            elif stopped_for is not None:
                stopped_for += step
                if stopped_for >= STOPPED_GRACE:
                    _kill(self.pid, signal.SIGKILL)
                    stopped_for = None
        if self.reader is not None:
            self.reader.join()  # to the end of what it wrote

    def read(self) -> None:
        """Everything the child writes, to the end (past the bound it is read and dropped, so that
        the child is never left blocked on a full pipe)."""
        with os.fdopen(self.read_fd, "rb") as fh:
            while chunk := fh.read(1 << 20):
                self.size += len(chunk)
                if self.size > _MAX_PAYLOAD:
                    self.chunks = []
                else:
                    self.chunks.append(chunk)

    def result(self) -> ScanResult:
        if self.status is None or not os.WIFEXITED(self.status) or os.WEXITSTATUS(self.status) != 0:
            if self.stopped_by is not None:
                how = f"it was stopped by signal {self.stopped_by} for {STOPPED_GRACE:g} s and was killed"
            elif self.status is not None and os.WIFSIGNALED(self.status):
                how = f"killed by signal {os.WTERMSIG(self.status)}"
            else:
                how = "it did not finish"
            return failed_part(self.part, how)
        if self.size > _MAX_PAYLOAD:
            return failed_part(self.part, f"its result was larger than {_MAX_PAYLOAD} bytes")
        try:
            return decode_result(b"".join(self.chunks), self.part)
        except Exception as exc:  # noqa: BLE001 - whatever the payload makes fail (OverflowError on an
            # infinite count, RecursionError on deep nesting ...) costs its part only, never the run
            return failed_part(
                self.part, f"its result could not be read ({type(exc).__name__}: {bounded(str(exc), 200)})"
            )


def scan_split(
    accounts: Sequence[Account], n: int, scan_part: Callable[[list[Account], int], ScanResult]
) -> ScanResult:
    """Scan ``accounts`` in ``n`` processes: ``scan_part(part, index)`` (index 1 is this process;
    the others run in forked children and must build their own AWS context)."""
    started = time.monotonic()
    parts = split(accounts, n)
    children: list[_Child] = []
    results: list[ScanResult] = []
    sys.stdout.flush()
    sys.stderr.flush()
    life_r, life_w = os.pipe()  # the children's lifeline: held open by this process only
    try:
        try:
            for index, part in enumerate(parts[1:], start=2):
                read_fd, write_fd = os.pipe()
                try:
                    pid = os.fork()
                except OSError:
                    os.close(read_fd)
                    os.close(write_fd)
                    raise
                if pid == 0:  # pragma: no cover - the child (its behaviour is tested through its results)
                    try:
                        for fd in (read_fd, life_w, *(c.read_fd for c in children)):
                            os.close(fd)
                        _child(part, index, write_fd, life_r, scan_part)
                    finally:
                        os._exit(0)
                os.close(write_fd)
                children.append(_Child(pid, read_fd, part))
        except OSError:  # fork or pipe refused (a process limit): the parts not forked are scanned here
            parts = [parts[0] + [a for p in parts[len(children) + 1 :] for a in p]]
        for child in children:  # threads only now: every child was forked from a one-thread process
            child.reader = threading.Thread(target=child.read, name="crossaccount-result", daemon=True)
            child.reader.start()
        results.append(scan_part(parts[0], 1))
    finally:
        os.close(life_r)
        for child in children:
            if not results:  # this process failed: do not leave the children scanning
                _kill(child.pid)
            child.wait()
        os.close(life_w)
    results.extend(child.result() for child in children)
    return merge(results, started)


def _kill(pid: int, sig: int = signal.SIGTERM) -> None:
    try:
        os.kill(pid, sig)
        os.kill(pid, signal.SIGCONT)  # a stopped child acts on the signal only once continued
    except OSError:
        pass
