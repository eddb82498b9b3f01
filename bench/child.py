"""Run one command and write its wall time and peak RSS as JSON: ``child.py OUT CMD...``.

A small process in between because Linux counts the parent's memory at fork time in a child's
ru_maxrss: forked straight from the benchmark driver (hundreds of MB), every child would report
at least the driver's size.

The command may fork (``scan_processes``): ``ru_maxrss`` from wait4 is then the largest of the
processes, not their sum. So the process tree's summed RSS is also sampled every 20 ms from /proc,
and the reported peak is the larger of the two (a sum of RSS counts the pages a forked child
still shares with its parent twice: an upper bound)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kb(pid: int) -> tuple[int, int]:
    """(summed RSS of the tree, how many of its processes hold 20 MB or more: the scan processes,
    not a short helper such as the ldconfig ansible-core runs at start-up)."""
    todo, total, count = [pid], 0, 0
    while todo:
        p = todo.pop()
        rss = _rss_kb(p)
        total += rss
        count += rss >= 20 * 1024
        todo.extend(_children(p))
    return total, count


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peak = {"kb": 0, "processes": 1}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            kb, count = _tree_rss_kb(proc.pid)
            peak["kb"] = max(peak["kb"], kb)
            peak["processes"] = max(peak["processes"], count)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    stats = {
        "wall": wall,
        "rss_mb": max(usage.ru_maxrss, peak["kb"]) / 1024.0,
        "rss_largest_process_mb": usage.ru_maxrss / 1024.0,
        "processes": peak["processes"],
        "cpu": usage.ru_utime + usage.ru_stime,
    }
    with open(out, "w") as fh:
        json.dump(stats, fh)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
