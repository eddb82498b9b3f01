# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An action plugin's argument spec, read from the DOCUMENTATION of its module (one source for the
options' types, defaults, choices and required flags, as ansible-doc shows them)."""

from __future__ import annotations

from typing import Any

import yaml

# the keys of a documented option that ArgumentSpecValidator understands
_SPEC_KEYS = ("type", "required", "default", "choices", "elements", "aliases", "no_log")


def argument_spec(documentation: str) -> dict[str, dict[str, Any]]:
    """``{option: {type, required, default, ...}}`` of a module's DOCUMENTATION (YAML text)."""
    options = yaml.safe_load(documentation).get("options") or {}
    return {name: {key: spec[key] for key in _SPEC_KEYS if key in spec} for name, spec in options.items()}
