"""The cmdb_export action's argument spec is its module's DOCUMENTATION (no second copy)."""

from __future__ import annotations

import yaml

from ansible_collections.crossaccount.aws.plugins.action import cmdb_export as action
from ansible_collections.crossaccount.aws.plugins.modules import cmdb_export as module_doc
from ansible_collections.crossaccount.aws.plugins.plugin_utils.argspec import argument_spec


def test_action_arguments_are_the_documented_options():
    documented = yaml.safe_load(module_doc.DOCUMENTATION)["options"]
    assert set(action.ARGS) == set(documented)
    for name, spec in documented.items():
        for key in ("type", "required", "default", "elements", "choices"):
            assert action.ARGS[name].get(key) == spec.get(key), f"{name}.{key}"
    assert action.ARGS["dest"] == {"type": "path", "required": True}
    assert action.ARGS["mode"] == {"type": "raw", "default": "0644"}


def test_argument_spec_keeps_only_what_the_validator_reads():
    doc = """
options:
  a:
    description: x
    type: list
    elements: str
    default: []
    version_added: "1.0.0"
    aliases: [b]
"""
    assert argument_spec(doc) == {"a": {"type": "list", "elements": "str", "default": [], "aliases": ["b"]}}
    assert argument_spec("short_description: none\n") == {}
