"""Imports point one way along the data flow (docs/design.md): each module of plugins/module_utils
imports, at run time, only modules listed before it here, and none imports Ansible. Imports made for
annotations only (under ``if TYPE_CHECKING:``) are not counted."""

from __future__ import annotations

import ast
import os

from tests.support.cli import ROOT

MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PREFIX = "ansible_collections.crossaccount.aws.plugins.module_utils"
# leaves first, then the data flow: config -> accounts -> credentials -> (account, region) tasks
# building host records -> snapshot -> export
ORDER = [
    "constants",
    "values",
    "errors",
    "partitions",
    "validation",
    "safe_yaml",
    "aws_ec2_compat",
    "hostnames",
    "config",
    "responses",
    "organizations",
    "accounts",
    "botocore_data",
    "botocore_speedups",
    "clients",
    "role_credentials",
    "credentials",
    "ssm_credentials",
    "regions",
    "hosts",
    "ssm",
    "scanner",
    "processes",
    "snapshot",
    "snapshot_cache",
    "export",
]


def _runtime_imports(path: str) -> set[str]:
    with open(path) as f:
        tree = ast.parse(f.read())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PREFIX:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX + "."):
                found.add(node.module[len(PREFIX) + 1 :].split(".")[0])
            elif node.module.split(".")[0] == "ansible":
                found.add("ansible")
        elif isinstance(node, ast.Import):
            found.update("ansible" for alias in node.names if alias.name.split(".")[0] == "ansible")
    return found


def test_every_module_is_placed():
    modules = {name[:-3] for name in os.listdir(MODULE_UTILS) if name.endswith(".py") and name != "__init__.py"}
    assert modules == set(ORDER), "place a new module in ORDER (and in docs/design.md's picture)"


def test_imports_point_one_way():
    for position, module in enumerate(ORDER):
        imports = _runtime_imports(os.path.join(MODULE_UTILS, module + ".py"))
        assert "ansible" not in imports, f"{module} imports Ansible"
        later = imports - set(ORDER[:position])
        assert not later, f"{module} imports {sorted(later)}, which come after it in the data flow"
