"""What a run imports, through the real ansible-inventory (python -X importtime).

ansible-core compiles a collection's Python modules from source at every run (its collection
loader keeps no bytecode), so a module a run does not use costs its compile time anyway if it is
imported: Organizations, SSM and the cache's codec are imported only by the runs that use them. A
run served from the cache never imports botocore at all (issue 13: "the cached path stays
botocore-free")."""

from __future__ import annotations

import os
import re
import sys

from tests.support import cli
from tests.support.inventories import example_inventory

OURS = "ansible_collections.crossaccount.aws.plugins.module_utils."
ON_DEMAND = ("organizations", "ssm", "ssm_credentials", "snapshot_cache", "export")


def _imported(path: str, endpoint: str) -> tuple[cli.Result, set[str]]:
    cmd = [sys.executable, "-X", "importtime", os.path.join(cli.BIN, "ansible-inventory"), "-i", path, "--list"]
    result = cli.run(cmd, endpoint, extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert result.rc == 0, result.stderr[-3000:]
    modules = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", result.stderr, re.MULTILINE))
    assert modules, "python -X importtime wrote nothing: the check below would pass for nothing"
    return result, modules


def test_a_plain_scan_imports_only_what_it_uses(stand_in, fleet, tmp_path):
    path = tmp_path / "plain.ec2.yml"
    path.write_text(example_inventory())
    result, modules = _imported(str(path), stand_in.endpoint)
    assert result.hostvars, "the scan listed hosts"
    assert OURS + "scanner" in modules and "botocore.client" in modules
    assert not {OURS + name for name in ON_DEMAND} & modules


def test_a_run_served_from_the_cache_never_imports_botocore(stand_in, fleet, tmp_path):
    path = tmp_path / "cached.ec2.yml"
    cache = f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\n"
    path.write_text(example_inventory(cache))
    first, modules = _imported(str(path), stand_in.endpoint)
    assert OURS + "snapshot_cache" in modules and "botocore" in modules, "the first run scans and writes the cache"
    stand_in.faults.reset()
    second, modules = _imported(str(path), stand_in.endpoint)
    assert second.hostvars == first.hostvars
    assert sum(stand_in.faults.calls.values()) == 0, "served from the cache: no AWS call"
    assert OURS + "snapshot_cache" in modules
    assert not {m for m in modules if m == "botocore" or m.startswith(("botocore.", "boto3"))}
    assert not {OURS + name for name in ("scanner", "credentials", "clients", "organizations")} & modules
