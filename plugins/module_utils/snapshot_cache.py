# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot as it is stored in Ansible's inventory cache: opaque to ansible-core, read tolerantly.

ansible-core 2.19+ wraps every cache plugin and decodes what it stored with its own JSON profile,
which turns any mapping that has an ``__ansible_type`` key into one of its internal objects, or
raises (``__ansible_unsafe`` and ``__ansible_vault`` are special in its other profiles). EC2 tag
keys and values are written by anyone who may tag an instance, so a snapshot stored as plain
nested data would let one tag break every later run or smuggle an object into host variables.

The stored value therefore holds only keys this collection chose and plain strings: each
account-region entry, and the list of failures, is JSON text of its own, encoded and decoded
with the standard library's ``json`` only. Nothing a tag holds can be read by ansible-core as a
marker, and every tag comes back exactly as AWS gave it.

Reading never raises. A part that cannot be decoded (a file torn by a full disk, edited by hand,
written by an older version) is dropped and named in ``Decoded.problems``; an account-region
entry is dropped on its own, so one torn entry does not lose the stale-if-error data of the
others. A snapshot with any problem is never served as the inventory: it is only the
``previous`` snapshot that failed accounts and regions are carried over from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import FORMAT as SNAPSHOT_FORMAT

CACHE_FORMAT = 2  # format 1 (collection 1.0.0) stored the snapshot as nested data
_LEGACY_FORMAT = 1
_HEADER = ("fingerprint", "scope", "scanned_at")
_MAX_PROBLEMS = 3


@dataclass
class Decoded:
    """A cached value read back: the snapshot (None when nothing of it is usable), whether it may be
    served as this run's inventory, and what was wrong with it (one short phrase each)."""

    snapshot: dict[str, Any] | None
    servable: bool
    problems: list[str] = field(default_factory=list)
    foreign: str | None = None  # made by another version of the collection: not damage, not used


def encode(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The value to store in the cache for ``snapshot`` (the in-memory form ``build_snapshot`` makes)."""
    return {
        "format": CACHE_FORMAT,
        "fingerprint": snapshot["fingerprint"],
        "scope": snapshot.get("scope", ""),
        "scanned_at": snapshot["scanned_at"],
        "errors": _dumps(list(snapshot["errors"])),
        "entries": [_dumps(entry) for entry in snapshot["entries"].values()],
    }


def decode(value: Any) -> Decoded:
    """The snapshot stored as ``value`` by ``encode`` (or by collection 1.0.0), never raising."""
    if not isinstance(value, Mapping):
        return Decoded(None, False, [f"the cached value is a {type(value).__name__}, not a snapshot"])
    version = value.get("format")
    if version == _LEGACY_FORMAT and not isinstance(version, bool):
        return _decode_legacy(value)
    if version != CACHE_FORMAT or isinstance(version, bool):
        if isinstance(version, int) and not isinstance(version, bool):
            return Decoded(None, False, foreign=f"cache format {version}")
        return Decoded(None, False, ["the cached value has no known format"])
    problems: list[str] = []
    header = {key: value.get(key) for key in _HEADER}
    bad_header = [key for key, item in header.items() if not isinstance(item, str)]
    if bad_header:
        return Decoded(None, False, [f"its {', '.join(bad_header)} cannot be read"])
    raw_entries = value.get("entries")
    if not isinstance(raw_entries, list):
        return Decoded(None, False, ["its account-region entries cannot be read"])
    entries: dict[str, dict[str, Any]] = {}
    damaged = 0
    for raw in raw_entries:
        entry = _loads(raw) if isinstance(raw, str) else None
        entry = _valid_entry(entry)
        if entry is None:
            damaged += 1
            continue
        entries[f"{entry['account_id']}/{entry['region']}"] = entry
    if damaged:
        problems.append(f"{damaged} of {len(raw_entries)} account-region entries cannot be read and are dropped")
    errors = _loads(value.get("errors")) if isinstance(value.get("errors"), str) else None
    if not _valid_errors(errors):
        problems.append("its list of failures cannot be read")
        errors = []
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "fingerprint": header["fingerprint"],
        "scope": header["scope"],
        "scanned_at": header["scanned_at"],
        "entries": dict(sorted(entries.items())),
        "errors": errors,
    }
    return Decoded(snapshot, not problems, problems[:_MAX_PROBLEMS])


def _decode_legacy(value: Mapping[str, Any]) -> Decoded:
    """A snapshot stored by collection 1.0.0 as nested data: never served (it went through
    ansible-core's decoder), but its well-formed entries keep the hosts of failed accounts."""
    fp, scanned_at, raw_entries = value.get("fingerprint"), value.get("scanned_at"), value.get("entries")
    if not isinstance(fp, str) or not isinstance(scanned_at, str) or not isinstance(raw_entries, Mapping):
        return Decoded(None, False, ["the cached snapshot of an earlier version cannot be read"])
    entries = {}
    damaged = 0
    for raw in raw_entries.values():
        try:  # a value ansible-core's decoder turned into one of its objects does not survive this
            entry = _valid_entry(json.loads(json.dumps(raw, allow_nan=False)))
        except (TypeError, ValueError, RecursionError):
            entry = None
        if entry is None:
            damaged += 1
            continue
        entries[f"{entry['account_id']}/{entry['region']}"] = entry
    problems = []
    if damaged:
        problems.append(f"{damaged} of {len(raw_entries)} account-region entries cannot be read and are dropped")
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "fingerprint": fp,
        "scope": None,
        "scanned_at": scanned_at,
        "entries": dict(sorted(entries.items())),
        "errors": [],
    }
    return Decoded(snapshot, False, problems)


def _dumps(value: Any) -> str:
    # ASCII only: the text holds no character a cache backend or ansible-core's strict UTF-8 check
    # could refuse; allow_nan=False: what is written is standard JSON
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _valid_entry(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    if not all(isinstance(entry.get(key), str) and entry.get(key) for key in ("account_id", "region", "scanned_at")):
        return None
    if not isinstance(entry.get("stale", False), bool) or not isinstance(entry.get("account_name"), (str, type(None))):
        return None
    records = entry.get("records")
    if not isinstance(records, list):
        return None
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("instance_id"), str):
            return None
        tags = record.get("ec2_tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            return None
    return entry


def _valid_errors(errors: Any) -> bool:
    return isinstance(errors, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("account_id"), str)
        and isinstance(e.get("code"), str)
        and isinstance(e.get("region"), (str, type(None)))
        for e in errors
    )
