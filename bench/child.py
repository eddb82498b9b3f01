"""Run one command and write its wall time and peak RSS as JSON: ``child.py OUT CMD...``.

A small process in between because Linux counts the parent's memory at fork time in a child's
ru_maxrss: forked straight from the benchmark driver (hundreds of MB), every child would report
at least the driver's size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    with open(out, "w") as fh:
        json.dump({"wall": wall, "rss_mb": usage.ru_maxrss / 1024.0, "cpu": usage.ru_utime + usage.ru_stime}, fh)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
