"""The collection as users get it: `ansible-galaxy collection build` holds only the collection, and the
tarball installed offline into a fresh path serves the inventory through the real ansible-inventory CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

from tests.support import cli
from tests.support.fleet import ACCOUNTS
from tests.support.inventories import example_inventory

# Everything a built collection may hold at its top level. Anything else (tests, bench, demo, venvs,
# caches, .tmp, Makefile, tooling files) must stay out of the tarball.
ALLOWED_TOP = {
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.rst",
    "requirements.txt",
    "bindep.txt",
    "changelogs",
    "docs",
    "examples",
    "meta",
    "plugins",
    "playbooks",
    "roles",
}
REQUIRED = {
    "MANIFEST.json",
    "FILES.json",
    "LICENSE",
    "requirements.txt",
    "bindep.txt",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "plugins/inventory/ec2.py",
    "plugins/connection/aws_ssm.py",
    "plugins/module_utils/config.py",
    "plugins/module_utils/credentials.py",
}


def _run(cmd: list[str], cwd: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{cmd[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("galaxy-build")
    _run(
        [os.path.join(cli.BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), cli.ROOT], cli.ROOT
    )
    tarballs = list(out.glob("crossaccount-aws-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


def test_tarball_holds_only_the_collection(built):
    with tarfile.open(built) as tar:
        names = [m.name for m in tar.getmembers()]
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    top = {n.split("/", 1)[0] for n in names}
    assert top <= ALLOWED_TOP, f"unexpected entries in the tarball: {sorted(top - ALLOWED_TOP)}"
    assert REQUIRED <= set(names), f"missing from the tarball: {sorted(REQUIRED - set(names))}"
    for name in names:
        parts = name.split("/")
        assert "__pycache__" not in parts and not name.endswith((".pyc", ".tar.gz")), name
        assert not any(p.startswith(".") for p in parts), f"hidden file or directory in the tarball: {name}"
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("crossaccount", "aws")
    assert built.name == f"crossaccount-aws-{info['version']}.tar.gz"


@pytest.fixture(scope="module")
def target(built, stand_in, tmp_path_factory):
    """A fresh collections path with the tarball installed offline (no Galaxy server asked). Its
    dependency amazon.aws is provided beforehand, as in an air-gapped execution environment build
    (the copy `make collection-link` extracted from the ansible wheel)."""
    base = tmp_path_factory.mktemp("galaxy-install")
    target = base / "collections"
    shutil.copytree(
        os.path.join(cli.COLLECTIONS, "ansible_collections", "amazon", "aws"),
        target / "ansible_collections" / "amazon" / "aws",
    )
    _run(
        [os.path.join(cli.BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(target), str(built)],
        str(base),
        env=cli.ansible_env(stand_in.endpoint, collections=str(target)),
    )
    return target


def test_installed_offline_it_serves_the_inventory(target, stand_in, fleet, tmp_path):
    installed = target / "ansible_collections" / "crossaccount" / "aws"
    assert (installed / "plugins" / "inventory" / "ec2.py").is_file()
    assert not (installed / "tests").exists() and not os.path.islink(installed)

    # ansible-doc proves which copy of the plugin is found: the installed one, not the checkout
    doc = cli.run(
        [os.path.join(cli.BIN, "ansible-doc"), "-t", "inventory", "--json", "crossaccount.aws.ec2"],
        stand_in.endpoint,
        cwd=str(tmp_path),
        collections=str(target),
    )
    assert doc.rc == 0, doc.stderr
    filename = json.loads(doc.stdout)["crossaccount.aws.ec2"]["doc"]["filename"]
    assert os.path.realpath(filename).startswith(os.path.realpath(installed)), filename

    path = tmp_path / "installed.ec2.yml"
    path.write_text(example_inventory())
    result = cli.inventory(str(path), stand_in.endpoint, "--list", cwd=str(tmp_path), collections=str(target))
    assert result.rc == 0, result.stderr
    listed = sorted(hv["instance_id"] for hv in result.hostvars.values())
    assert listed == sorted(i["instance_id"] for i in fleet)
    assert result.all_vars["crossaccount_errors"] == []
    for account in ACCOUNTS:
        assert f"account_{account}" in result.data["all"]["children"]


def test_execution_environment_definitions(target, tmp_path):
    """ansible-builder reads the installed collection's meta/execution-environment.yml (boto3/botocore
    minimums, no system packages) and accepts examples/execution-environment.yml."""
    builder = os.path.join(cli.BIN, "ansible-builder")
    introspected = yaml.safe_load(_run([builder, "introspect", str(target)], str(tmp_path)).stdout)
    ours = [line for line in introspected["python"] if "crossaccount.aws" in line]
    python = sorted(line.split("#")[0].strip() for line in ours)
    assert python == ["boto3>=1.34.0", "botocore>=1.34.0"]
    assert not [line for line in introspected.get("system") or [] if "crossaccount.aws" in line]

    context = tmp_path / "context"
    example = os.path.join(cli.ROOT, "examples", "execution-environment.yml")
    _run([builder, "create", "-f", example, "-c", str(context)], str(tmp_path))
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert 'PYCMD="/usr/bin/python3.11"' in containerfile
    assert "ansible-core>=2.19,<2.22" in containerfile
    assert "introspect.py introspect" in containerfile, "the collection's dependencies are added at build time"
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["crossaccount.aws", "amazon.aws"]
    # the system dependency of crossaccount.aws.aws_ssm, installed from AWS's RPM
    assert "session-manager-plugin.rpm" in containerfile and "session-manager-plugin --version" in containerfile


def test_installed_collection_has_its_dependency_and_the_connection(target, stand_in, tmp_path):
    manifest = json.loads((target / "ansible_collections" / "crossaccount" / "aws" / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["dependencies"] == {"amazon.aws": ">=10.0.0,<11.0.0"}
    doc = cli.run(
        [os.path.join(cli.BIN, "ansible-doc"), "-t", "connection", "--json", "crossaccount.aws.aws_ssm"],
        stand_in.endpoint,
        cwd=str(tmp_path),
        collections=str(target),
    )
    assert doc.rc == 0, doc.stderr
    options = json.loads(doc.stdout)["crossaccount.aws.aws_ssm"]["doc"]["options"]
    assert options["role_arn"]["vars"] == [{"name": "crossaccount_ssm_role_arn"}]
    for secret in ("access_key_id", "secret_access_key", "session_token", "profile"):
        assert not options[secret].get("vars") and not options[secret].get("env"), secret
