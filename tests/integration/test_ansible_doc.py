"""`ansible-doc -t inventory crossaccount.aws.ec2` renders every option of the plugin (description, type,
default, version_added) and the EXAMPLES, and the documented defaults are the ones the code applies."""

from __future__ import annotations

import ast
import json
import os
import re

import pytest
import yaml

from tests.support import cli
from tests.support.settings import settings_from

PLUGIN = os.path.join(cli.ROOT, "plugins", "inventory", "ec2.py")
NAME = "crossaccount.aws.ec2"


def _plugin_strings() -> dict[str, str]:
    """DOCUMENTATION and EXAMPLES as written in the plugin file (read, not imported)."""
    with open(PLUGIN) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES"):
                out[node.targets[0].id] = node.value.value
    return out


@pytest.fixture(scope="module")
def written():
    strings = _plugin_strings()
    return yaml.safe_load(strings["DOCUMENTATION"]), strings["EXAMPLES"]


@pytest.fixture(scope="module")
def rendered(stand_in):
    doc = os.path.join(cli.BIN, "ansible-doc")
    as_json = cli.run([doc, "-t", "inventory", "--json", NAME], stand_in.endpoint)
    assert as_json.rc == 0, as_json.stderr
    as_text = cli.run([doc, "-t", "inventory", NAME], stand_in.endpoint)
    assert as_text.rc == 0, as_text.stderr
    return json.loads(as_json.stdout)[NAME], as_text.stdout


def test_every_option_is_fully_documented(written, rendered):
    documentation, _examples = written
    data, _text = rendered
    options = data["doc"]["options"]
    own = documentation["options"]
    assert len(own) >= 20
    for name, spec in own.items():
        shown = options.get(name)
        assert shown is not None, f"option {name} missing from ansible-doc"
        description = shown.get("description")
        description = [description] if isinstance(description, str) else description
        assert description and all(isinstance(d, str) and d.strip() for d in description), name
        assert shown.get("type") in {"str", "int", "bool", "list", "dict", "path", "raw"}, name
        assert shown.get("version_added") in ("1.0.0", "1.1.0"), f"{name}: version_added"  # 1.1.0: unreleased
        assert shown.get("version_added_collection") == "crossaccount.aws", name
        if shown["type"] == "list":
            assert shown.get("elements"), f"{name}: list without elements"
        assert shown.get("default") == spec.get("default"), f"{name}: default shown differs from DOCUMENTATION"
    # the constructed and inventory_cache fragments are merged in
    for name in ("compose", "keyed_groups", "groups", "cache", "cache_plugin", "cache_timeout", "cache_connection"):
        assert name in options, name
    assert data["doc"]["version_added"] == "1.0.0"
    assert data["doc"]["author"] and "(@" in data["doc"]["author"][0]
    assert any(r.startswith("boto3") for r in data["doc"]["requirements"])


def test_documented_defaults_are_what_the_code_applies(written):
    """Each documented default reaches the settings through ansible-core's option machinery when
    the option is left out (DOCUMENTATION is the only place a default is written)."""
    documentation, _examples = written
    own = documentation["options"]
    s = settings_from({"plugin": NAME, "accounts": ["111111111111"], "role_name": "R"})
    applied = {
        "accounts_file": None,
        "organization": s.accounts.organization,
        "external_id": s.accounts.external_id,
        "partition": s.accounts.partition,
        "shard": s.accounts.shard,
        "role_session_name": s.client.role_session_name,
        "duration_seconds": s.client.duration_seconds,
        "profile": s.client.profile,
        "sts_region": s.client.sts_region,
        "retry_mode": s.client.retry_mode,
        "max_attempts": s.client.max_attempts,
        "connect_timeout": s.client.connect_timeout,
        "read_timeout": s.client.read_timeout,
        "regions": list(s.scan.regions),
        "exclude_regions": list(s.scan.exclude_regions),
        "attributes": s.scan.attributes,
        "max_workers": s.scan.max_workers,
        "scan_processes": s.scan.processes,
        "hostnames": [p.written for p in s.output.hostnames],
        "strict_errors": s.output.strict_errors,
        "ssm": s.ssm,
        "include_filters": list(s.scan.include_filters),
        "exclude_filters": list(s.scan.exclude_filters),
        "hostvars_prefix": s.output.hostvars_prefix,
        "hostvars_suffix": s.output.hostvars_suffix,
        "default_groups": list(s.output.default_groups),
    }
    assert s.client.max_pool_connections == s.scan.max_workers
    for name, value in applied.items():
        assert value == own[name].get("default"), f"{name}: documented {own[name].get('default')!r}, applied {value!r}"
    assert set(own) - set(applied) == {"plugin", "accounts", "role_name", "filters"}
    assert s.scan.filters == (("instance-state-name", ("pending", "running", "stopping", "stopped")),)
    assert own["filters"]["default"] == {} and "terminated" in " ".join(own["filters"]["description"])


def _code_lines(path: str) -> list[str]:
    """The lines of a Python file, its DOCUMENTATION/EXAMPLES/RETURN strings blanked out."""
    with open(path) as f:
        text = f.read()
    lines = text.splitlines()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                for n in range(node.lineno - 1, node.end_lineno):
                    lines[n] = ""
    return lines


def test_each_default_is_written_once(written):
    """grep finds each option default once: in DOCUMENTATION, not again as a Python default, a
    dataclass field default or a fallback anywhere in plugins/."""
    documentation, _examples = written
    aliases = {"max_workers": ("max_workers", "max_pool_connections")}
    files = [
        os.path.join(root, name)
        for root, _dirs, names in os.walk(os.path.join(cli.ROOT, "plugins"))
        for name in names
        if name.endswith(".py")
    ]
    checked = 0
    for option, spec in documentation["options"].items():
        default = spec.get("default")
        if default in (None, [], {}, False):
            continue
        literal = re.escape(json.dumps(default) if isinstance(default, str) else str(default))
        names = "|".join(aliases.get(option, (option,)))
        # `name: int = 16`, `name=16`, `"name": 16`, .get("name", 16); a long string literal anywhere
        pattern = re.compile(
            rf"(\b({names})\b[^\n]*[=:,]\s*{literal}\b)"
            + (rf"|{literal}" if isinstance(default, str) and len(default) > 10 else "")
        )
        for path in files:
            for number, line in enumerate(_code_lines(path), 1):
                assert not pattern.search(line), f"default of {option} written again: {path}:{number}: {line.strip()}"
        checked += 1
    assert checked >= 8


def test_text_output_shows_options_defaults_and_examples(written, rendered):
    documentation, examples = written
    _data, text = rendered
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # in case a terminal setting brings colour back
    assert text.startswith(f"> INVENTORY {NAME} (")
    option_lines = {m.group(1) for m in re.finditer(r"^(?:[-=] | {3})(\w+) {2,}\S", text, re.M)}
    missing = set(documentation["options"]) - option_lines
    assert not missing, f"options not rendered: {sorted(missing)}"
    assert "= plugin" in text, "the required option is marked"
    assert "default: 128" in text and "default: crossaccount-inventory" in text
    assert "EXAMPLES:" in text
    shown_examples = text.split("EXAMPLES:", 1)[1]
    for line in examples.strip().splitlines():
        assert line.rstrip() in shown_examples, f"example line not rendered: {line!r}"
    for block in examples.strip().split("\n\n"):
        parsed = yaml.safe_load(block)
        assert parsed["plugin"] == NAME, "every example is a complete configuration"
