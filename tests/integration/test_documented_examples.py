"""Every inventory file the documentation shows works as shown, through the real ansible-inventory.

The examples are read from where users read them, not copied: the ```yaml blocks of README.md and
docs/*.md whose ``plugin`` is this plugin, each paragraph of the plugin's EXAMPLES, the inventory
file the EXAMPLES of the aws_ssm connection show in comments, and examples/*.ec2.yml. Each must be
accepted against the stand-in (a scan that fails for want of an AWS Organizations organization is
fine: it is reported, not refused). The refusals the documentation quotes in full are the plugin's
exact lines.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import textwrap

import pytest
import yaml

from tests.support import cli
from tests.support.faults import Fault, regions_body

NAME = "crossaccount.aws.ec2"
DOCS = ["README.md", *sorted(os.path.relpath(p, cli.ROOT) for p in glob.glob(os.path.join(cli.ROOT, "docs", "*.md")))]
ANY_UNPARSED_IS_FAILED = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
# the accounts_file the examples name (accounts.yml, next to the inventory file)
ACCOUNTS_FILE = '- "333333333333"\n- id: "444444444444"\n  name: production\n'
# Examples that scan every enabled region meet accounts with the fleet's three regions enabled
# (DescribeRegions answered so by the fault layer): the files stay as documented, the scan stays short.
ENABLED_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def _read(path: str) -> str:
    with open(os.path.join(cli.ROOT, path), encoding="utf-8") as f:
        return f.read()


def _fenced(path: str, language: str) -> list[tuple[int, str]]:
    """(line, text) of each fenced block of ``language`` in a Markdown file, indented ones (in a
    list item) included."""
    text = _read(path)
    found = []
    for m in re.finditer(rf"^( *)```{language}\n(.*?)^\1```", text, re.M | re.S):
        found.append((text[: m.start()].count("\n") + 1, textwrap.dedent(m.group(2))))
    return found


def _examples_of(plugin: str) -> str:
    """The EXAMPLES string of a plugin file (read, not imported)."""
    tree = ast.parse(_read(os.path.join("plugins", plugin)))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return node.value.value
    raise AssertionError(f"plugins/{plugin} has no EXAMPLES")


def _commented_inventory(examples: str) -> str:
    """The inventory file an EXAMPLES string shows in comments (``# plugin: ...`` up to a bare ``#``)."""
    lines = examples.splitlines()
    start = lines.index(f"# plugin: {NAME}")
    end = lines.index("#", start)
    return "".join(line[2:] + "\n" for line in lines[start:end])


def documented_inventories() -> list[tuple[str, str]]:
    """(where, text) of every inventory file of this plugin the documentation shows."""
    found = []
    for path in DOCS:
        for line, text in _fenced(path, "ya?ml"):
            data = yaml.safe_load(text)
            if isinstance(data, dict) and data.get("plugin") == NAME:
                found.append((f"{path}:{line}", text))
    for number, chunk in enumerate(_examples_of(os.path.join("inventory", "ec2.py")).strip().split("\n\n")):
        found.append((f"EXAMPLES[{number}]", chunk + "\n"))
    connection = _examples_of(os.path.join("connection", "aws_ssm.py"))
    found.append(("aws_ssm EXAMPLES", _commented_inventory(connection)))
    for path in sorted(glob.glob(os.path.join(cli.ROOT, "examples", "*ec2.yml"))):
        found.append((os.path.relpath(path, cli.ROOT), _read(path)))
    return found


DOCUMENTED = documented_inventories()


def test_the_documentation_shows_inventory_files_everywhere():
    where = [w for w, _ in DOCUMENTED]
    assert sum(w.startswith("README.md:") for w in where) >= 3
    assert sum(w.startswith("docs/") for w in where) >= 5
    assert sum(w.startswith("EXAMPLES[") for w in where) >= 5
    assert sum(w.startswith("examples/") for w in where) == 2
    assert "aws_ssm EXAMPLES" in where


@pytest.mark.parametrize("where,text", DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_every_documented_inventory_file_is_accepted(where, text, stand_in, fleet, faults, tmp_path):
    faults.set_faults(
        [Fault(code="enabled", action="DescribeRegions", body=regions_body(ENABLED_REGIONS), content_type="text/xml")]
    )
    # a cache directory of the example's (/var/cache/...) is not writable here: only that value changes
    text = re.sub(r"(?m)^(\s*cache_connection:\s*)\S+", lambda m: m.group(1) + str(tmp_path / "cache"), text)
    (tmp_path / "accounts.yml").write_text(ACCOUNTS_FILE)
    path = tmp_path / "documented.ec2.yml"
    path.write_text(text)
    result = cli.inventory(str(path), stand_in.endpoint, "--list", "--export", extra_env=ANY_UNPARSED_IS_FAILED)
    assert result.rc == 0, f"{where} is refused:\n{result.stderr}"
    assert "configuration error" not in result.stderr, f"{where}: {result.stderr}"
    assert "crossaccount_scanned_at" in result.data["all"]["vars"], f"{where} was not read by {NAME}"


def _quoted_line(path: str, starts: str) -> str:
    """The one line of a code block of ``path`` (fenced or indented) that starts with ``starts``."""
    lines = [line.strip() for line in _read(path).splitlines() if line.strip().startswith(starts)]
    assert len(lines) == 1, f"{path}: {len(lines)} lines start with {starts!r}"
    return lines[0]


def _refusal(tmp_path, stand_in, text: str, name: str = "cmdb.ec2.yml"):
    path = tmp_path / name
    path.write_text(text)
    result = cli.inventory(str(path), stand_in.endpoint, "--list", extra_env=ANY_UNPARSED_IS_FAILED)
    assert result.rc != 0, result.stderr
    return str(path), result.stderr


def test_the_quoted_octal_refusal_of_bad_input_md_is_the_plugins_line(stand_in, tmp_path):
    quoted = _quoted_line("docs/bad-input.md", "[WARNING]: Failed to parse inventory")
    path, stderr = _refusal(tmp_path, stand_in, f"plugin: {NAME}\nrole_name: CMDBDiscovery\naccounts: [012345670123]\n")
    assert quoted.replace("/etc/ansible/cmdb.ec2.yml", path) in stderr.splitlines()


def test_the_quoted_aws_ec2_refusal_of_the_migration_guide_is_the_plugins_line(stand_in, tmp_path):
    """The guide's "before" file (one aws_ec2 file per account), read as this plugin's, is refused
    with the line the guide quotes: its first aws_ec2-ism, iam_role_arn."""
    quoted = _quoted_line("docs/migrating-from-aws_ec2.md", f"{NAME} configuration error in prod.ec2.yml:")
    before = [t for _, t in _fenced("docs/migrating-from-aws_ec2.md", "yaml") if "plugin: amazon.aws.aws_ec2" in t]
    assert len(before) == 1
    text = before[0].replace("plugin: amazon.aws.aws_ec2", f"plugin: {NAME}")
    path, stderr = _refusal(tmp_path, stand_in, text, name="prod.ec2.yml")
    assert quoted.replace("prod.ec2.yml", path) in stderr


def test_the_quoted_secret_key_refusal_of_security_md_is_the_plugins_line(stand_in, tmp_path):
    quoted = _quoted_line("docs/security.md", "aws_secret_access_key: secret keys")
    text = f'plugin: {NAME}\nrole_name: CMDBDiscovery\naccounts: ["111111111111"]\naws_secret_access_key: not-a-key\n'
    path, stderr = _refusal(tmp_path, stand_in, text)
    assert f"{NAME} configuration error in {path}: {quoted}" in stderr
    assert "not-a-key" not in stderr
