# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain values: copies made of built-in types only, without ansible-core's data tags."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z]+)")
_PLURAL_ABBREV = re.compile(r"[A-Z]{3,}s$")


@lru_cache(maxsize=4096)
def snake(name: str) -> str:
    """CamelCase to snake_case exactly as ansible-core's camel_dict_to_snake_dict does it
    (so the variable names match amazon.aws.aws_ec2 and users' compose/keyed_groups carry over)."""
    s1 = _PLURAL_ABBREV.sub(lambda m: "_" + m.group(0).lower(), name)
    if s1.startswith("_") and not name.startswith("_"):
        s1 = s1[1:]
    s2 = _FIRST_CAP.sub(r"\1_\2", s1)
    return _ALL_CAP.sub(r"\1_\2", s2).lower()


def snake_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): snake_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_value(v) for v in value]
    return value


def plain(value: Any, *, stringify_other: bool = True) -> Any:
    """A copy of ``value`` made of str, int, float, bool, None, list and dict only.

    ansible-core 2.19 hands out tagged subclasses of str/dict/list (loaded YAML carries the file's
    Origin on every string, host variables carry trust tags). Plain copies are never trusted as
    templates, serialise as they are, and keep the tags out of host records and the inventory
    cache, where each tagged string costs a per-object type lookup when decoded (~0.4 ms per host
    served from the cache). Values of other types become ``str(value)``, or are kept as they are
    with ``stringify_other=False`` (e.g. dates in a configuration file, for the validator to judge).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {
            plain(k, stringify_other=stringify_other): plain(v, stringify_other=stringify_other)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, stringify_other=stringify_other) for v in value]
    return str(value) if stringify_other else value
