"""Without boto3/botocore on the controller the plugin fails with one clear line saying what to install,
never a traceback (the guarded imports ansible-test's import sanity test also checks)."""

from __future__ import annotations

import os
import site
import sys

from tests.support import cli

CONFIG = """
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["111111111111"]
regions: [us-east-1]
"""
MISSING = ("boto3", "botocore", "s3transfer")


def _site_packages_without_boto(dest) -> str:
    """A copy (by symlinks) of the venv's site-packages with boto3, botocore and s3transfer left out."""
    dest.mkdir()
    source = next(p for p in site.getsitepackages() if os.path.isdir(os.path.join(p, "ansible")))
    for name in os.listdir(source):
        if not name.lower().startswith(MISSING):
            os.symlink(os.path.join(source, name), dest / name)
    return str(dest)


def test_missing_botocore_is_one_clear_line(stand_in, faults, tmp_path):
    path = tmp_path / "nodeps.ec2.yml"
    path.write_text(CONFIG)
    env = {
        "PYTHONPATH": _site_packages_without_boto(tmp_path / "site"),
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
    }
    # python -S: no site-packages of the venv, only the copy above
    cmd = [sys.executable, "-S", os.path.join(cli.BIN, "ansible-inventory"), "-i", str(path), "--list"]
    result = cli.run(cmd, stand_in.endpoint, extra_env=env, cwd=str(tmp_path))
    assert result.rc != 0, "a source that cannot load must fail with ANY_UNPARSED_IS_FAILED"
    assert "Traceback" not in result.stderr
    ours = [line for line in result.stderr.splitlines() if "botocore and boto3 Python packages are missing" in line]
    assert ours, result.stderr
    assert ours[0].startswith("[WARNING]: Failed to parse inventory with 'auto' plugin: crossaccount.aws.ec2: the")
    assert "(No module named 'botocore')" in ours[0] and ours[0].endswith("install them with: pip install boto3")
    assert sum(faults.calls.values()) == 0, "nothing reached AWS"
