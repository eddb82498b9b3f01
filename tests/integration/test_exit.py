"""The interpreter's exit after a parse (plugin_utils/inventory.py freeze_heap_at_exit), through the
real ansible-inventory and ansible-playbook.

Python's shutdown runs full collections over the whole heap while it tears the modules down (~0.2 s
of a small run on the slow VM). The plugin registers the public ``gc.freeze`` with ``atexit`` once
per process of ansible-inventory, so that those collections walk nothing; ansible-playbook exits as
Python does. The check below is an exit handler registered before the CLI starts: ``atexit`` runs
it after the plugin's hook, at the very end."""

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


def _freeze_count_at_exit(endpoint: str, *sources: str, playbook: str | None = None) -> tuple[cli.Result, int]:
    if playbook is None:
        cmd = [sys.executable, "-c", CHECKED, os.path.join(cli.BIN, "ansible-inventory"), "--list"]
    else:
        cmd = [sys.executable, "-c", CHECKED, os.path.join(cli.BIN, "ansible-playbook"), playbook]
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


def test_ansible_playbook_exits_as_python_does(stand_in, fleet, tmp_path):
    # its callback plugins and other objects may rely on finalisation at exit
    path = tmp_path / "plain.ec2.yml"
    path.write_text(example_inventory())
    playbook = tmp_path / "count.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n        msg: \"{{ groups['all'] | length }} hosts\"\n"
        "      run_once: true\n"
    )
    result, frozen = _freeze_count_at_exit(stand_in.endpoint, str(path), playbook=str(playbook))
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{len(fleet)} hosts" in result.stdout, "the playbook saw the plugin's hosts"
    assert frozen == 0
