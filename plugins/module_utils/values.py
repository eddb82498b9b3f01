# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain values: copies made of built-in types only, without ansible-core's data tags."""

from __future__ import annotations

from typing import Any, Mapping


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
