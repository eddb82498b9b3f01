"""The interpreter's exit after a parse (plugin_utils/inventory.py freeze_heap_at_exit), through the
real ansible-inventory.

Python's shutdown runs full collections over the whole heap while it tears the modules down (~0.2 s
of a small run on the slow VM). The plugin registers the public ``gc.freeze`` with ``atexit`` once
per process, so that those collections walk nothing. The check below is an exit handler registered
before ansible-inventory starts: ``atexit`` runs it after the plugin's hook, at the very end."""

from __future__ import annotations

import os
import re
import sys

from tests.support import cli
from tests.support.inventories import example_inventory

# runs the real ansible-inventory script after registering the check
CHECKED = (
    "import atexit, gc, runpy, sys\n"
    "atexit.register(lambda: print(f'freeze count at exit: {gc.get_freeze_count()}', file=sys.stderr))\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def _freeze_count_at_exit(endpoint: str, *sources: str) -> tuple[cli.Result, int]:
    cmd = [sys.executable, "-c", CHECKED, os.path.join(cli.BIN, "ansible-inventory"), "--list"]
    for source in sources:
        cmd += ["-i", source]
    result = cli.run(cmd, endpoint)
    counts = re.findall(r"^freeze count at exit: (\d+)$", result.stderr, re.MULTILINE)
    assert len(counts) == 1, result.stderr[-3000:]
    return result, int(counts[0])


def test_the_heap_is_frozen_at_exit_after_a_scan(stand_in, fleet, tmp_path):
    path = tmp_path / "plain.ec2.yml"
    path.write_text(example_inventory())
    result, frozen = _freeze_count_at_exit(stand_in.endpoint, str(path))
    assert result.rc == 0, result.stderr[-3000:]
    assert len(result.hostvars) == len(fleet), "the run is whole"
    assert frozen > 10_000, "the exit still walks the heap"


def test_a_failed_parse_still_exits_frozen_and_reports(stand_in, tmp_path):
    path = tmp_path / "broken.ec2.yml"
    path.write_text("plugin: crossaccount.aws.ec2\naccounts: []\n")
    result, frozen = _freeze_count_at_exit(stand_in.endpoint, str(path))
    assert "crossaccount.aws.ec2" in result.stderr
    assert frozen > 0


def test_a_run_without_the_plugin_is_left_alone(stand_in, tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[web]\nweb1 ansible_host=192.0.2.1\n")
    result, frozen = _freeze_count_at_exit(stand_in.endpoint, str(path))
    assert result.rc == 0 and "web1" in result.hostvars
    assert frozen == 0, "the hook is the plugin's: a run that never parses with it exits as Python does"
