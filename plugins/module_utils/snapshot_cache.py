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
from typing import Any, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import Entry, Snapshot

CACHE_FORMAT = 2  # format 1 (collection 1.0.0) stored the snapshot as nested data (Snapshot.to_dict)
_LEGACY_FORMAT = 1
_HEADER = ("fingerprint", "scope", "scanned_at")


@dataclass
class Decoded:
    """A cached value read back: the snapshot (None when nothing of it is usable), whether it may be
    served as this run's inventory, and what was wrong with it (one short phrase each)."""

    snapshot: Snapshot | None
    servable: bool
    problems: list[str] = field(default_factory=list)
    foreign: str | None = None  # made by another version of the collection: not damage, not used


def encode_for_cache(snapshot: Snapshot) -> dict[str, Any]:
    """The value to store in the cache for ``snapshot``."""
    return {
        "format": CACHE_FORMAT,
        "fingerprint": snapshot.fingerprint,
        "scope": snapshot.scope,
        "scanned_at": snapshot.scanned_at,
        "errors": _dumps(list(snapshot.errors)),
        "entries": [_dumps(entry.to_dict()) for entry in snapshot.entries.values()],
    }


def decode_cached(value: Any) -> Decoded:
    """The snapshot stored as ``value`` by ``encode_for_cache`` (or by collection 1.0.0), never raising."""
    if not isinstance(value, Mapping):
        return Decoded(None, False, [f"the cached value is a {type(value).__name__}, not a snapshot"])
    version = value.get("format")
    if isinstance(version, bool) or not isinstance(version, int):
        return Decoded(None, False, ["the cached value has no known format"])
    if version == _LEGACY_FORMAT:
        return _decode_legacy(value)
    if version != CACHE_FORMAT:
        return Decoded(None, False, foreign=f"cache format {version}")
    header = {key: value.get(key) for key in _HEADER}
    bad_header = [key for key, item in header.items() if not isinstance(item, str)]
    if bad_header:
        return Decoded(None, False, [f"its {', '.join(bad_header)} cannot be read"])
    raw_entries = value.get("entries")
    if not isinstance(raw_entries, list):
        return Decoded(None, False, ["its account-region entries cannot be read"])
    problems: list[str] = []
    entries, damaged = _entries(_loads(raw) if isinstance(raw, str) else None for raw in raw_entries)
    if damaged:
        problems.append(f"{damaged} of {len(raw_entries)} account-region entries cannot be read and are dropped")
    errors = _loads(value.get("errors")) if isinstance(value.get("errors"), str) else None
    if not _valid_errors(errors):
        problems.append("its list of failures cannot be read")
        errors = []
    snapshot = Snapshot(
        fingerprint=header["fingerprint"],
        scope=header["scope"],
        scanned_at=header["scanned_at"],
        entries=entries,
        errors=errors,
    )
    return Decoded(snapshot, not problems, problems)


def _decode_legacy(value: Mapping[str, Any]) -> Decoded:
    """A snapshot stored by collection 1.0.0 as nested data: never served (it went through
    ansible-core's decoder), but its well-formed entries keep the hosts of failed accounts."""
    fp, scanned_at, raw_entries = value.get("fingerprint"), value.get("scanned_at"), value.get("entries")
    if not isinstance(fp, str) or not isinstance(scanned_at, str) or not isinstance(raw_entries, Mapping):
        return Decoded(None, False, ["the cached snapshot of an earlier version cannot be read"])
    entries, damaged = _entries(_plain_json(raw) for raw in raw_entries.values())
    problems = []
    if damaged:
        problems.append(f"{damaged} of {len(raw_entries)} account-region entries cannot be read and are dropped")
    scope = value.get("scope") if isinstance(value.get("scope"), str) else ""
    return Decoded(Snapshot(fingerprint=fp, scope=scope, scanned_at=scanned_at, entries=entries), False, problems)


def _entries(candidates: Iterable[Any]) -> tuple[dict[str, Entry], int]:
    entries: dict[str, Entry] = {}
    damaged = 0
    for candidate in candidates:
        entry = Entry.from_dict(candidate) if _valid_entry(candidate) else None
        if entry is None:
            damaged += 1
            continue
        entries[entry.key] = entry
    return dict(sorted(entries.items())), damaged


def _dumps(value: Any) -> str:
    # ASCII only: the text holds no character a cache backend or ansible-core's strict UTF-8 check
    # could refuse; allow_nan=False: what is written is standard JSON
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _plain_json(value: Any) -> Any:
    """``value`` if it is plain JSON data (a value ansible-core's decoder turned into one of its
    objects does not survive this), else None."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return None


def _valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    if not all(isinstance(entry.get(key), str) and entry.get(key) for key in ("account_id", "region", "scanned_at")):
        return False
    if not isinstance(entry.get("stale", False), bool) or not isinstance(entry.get("account_name"), (str, type(None))):
        return False
    records = entry.get("records")
    if not isinstance(records, list):
        return False
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("instance_id"), str):
            return False
        tags = record.get("ec2_tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            return False
    return True


def _valid_errors(errors: Any) -> bool:
    return isinstance(errors, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("account_id"), str)
        and isinstance(e.get("code"), str)
        and isinstance(e.get("region"), (str, type(None)))
        for e in errors
    )
