# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot: what one scan found, in a plain JSON-friendly form.

The snapshot is what goes into Ansible's inventory cache and what the inventory is built from.
It holds instance data and failures only, never credentials. ``build_snapshot`` implements
stale-if-error: the hosts of an account or account-region that failed now are carried over
from the previous snapshot, marked stale with the time of that data.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

if TYPE_CHECKING:  # annotations only
    from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import ScanResult

FORMAT = 1


def fingerprint(**parts: Any) -> str:
    """A digest of the settings that shape the data (attributes, filters): a cached snapshot
    made with other settings is not reused."""
    blob = json.dumps(parts, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _key(account_id: str, region: str) -> str:
    return f"{account_id}/{region}"


def build_snapshot(
    scan_result: ScanResult,
    *,
    fingerprint_value: str,
    scanned_at: str,
    previous: Mapping[str, Any] | None = None,
    extra_failures: Iterable[Mapping[str, Any]] = (),
    in_scope: Callable[[str, str], bool] | None = None,
) -> dict[str, Any]:
    """This scan's snapshot; the entries of ``previous`` whose account or account-region failed now
    are carried over, marked stale, when ``in_scope(account_id, region)`` says the configuration
    still scans that region (a region removed from the file is not kept alive by a failure)."""
    entries: dict[str, dict[str, Any]] = {}
    for region_result in scan_result.regions:
        account = region_result.account
        entries[_key(account.id, region_result.region)] = {
            "account_id": account.id,
            "account_name": account.name,
            "region": region_result.region,
            "scanned_at": region_result.scanned_at,
            "stale": False,
            "records": region_result.records,
        }
    errors = [f.as_var() for f in scan_result.failures] + [dict(f) for f in extra_failures]
    if previous_usable(previous, fingerprint_value):
        failed_accounts = {e["account_id"] for e in errors if e.get("region") is None}
        failed_regions = {(e["account_id"], e["region"]) for e in errors if e.get("region") is not None}
        for key, entry in previous["entries"].items():
            if key in entries:
                continue
            if in_scope is not None and not in_scope(entry["account_id"], entry["region"]):
                continue
            if entry["account_id"] in failed_accounts or (entry["account_id"], entry["region"]) in failed_regions:
                carried = dict(entry)
                carried["stale"] = True
                entries[key] = carried
    return {
        "format": FORMAT,
        "fingerprint": fingerprint_value,
        "scanned_at": scanned_at,
        "entries": dict(sorted(entries.items())),
        "errors": errors,
    }


def region_scope(
    account_regions: Mapping[str, Iterable[str] | None], global_regions: Iterable[str], exclude: Iterable[str]
) -> Callable[[str, str], bool]:
    """Whether the configuration still scans (account id, region): the account's own regions, else
    the global ``regions``, else every enabled region; never an excluded one. ``account_regions``
    maps the accounts of this run to their own region list (None: the global setting applies)."""
    global_set = frozenset(global_regions)
    excluded = frozenset(exclude)

    def in_scope(account_id: str, region: str) -> bool:
        if region in excluded:
            return False
        chosen = frozenset(account_regions.get(account_id) or ()) or global_set
        return not chosen or region in chosen

    return in_scope


_ENTRY_KEYS = frozenset({"account_id", "region", "scanned_at", "records"})


def previous_usable(previous: Any, fingerprint_value: str) -> bool:
    """A cached snapshot of this format, made with the same settings, and well formed (a cache
    file edited or cut short by hand is ignored, never a crash)."""
    return (
        isinstance(previous, Mapping)
        and previous.get("format") == FORMAT
        and previous.get("fingerprint") == fingerprint_value
        and isinstance(previous.get("entries"), Mapping)
        and isinstance(previous.get("errors"), list)
        and isinstance(previous.get("scanned_at"), str)
        and all(
            isinstance(entry, Mapping) and _ENTRY_KEYS <= entry.keys() and isinstance(entry["records"], list)
            for entry in previous["entries"].values()
        )
    )


def stale_summary(snapshot: Mapping[str, Any]) -> list[tuple[str, str, int, str]]:
    """(account_id, region, host count, scanned_at) of every stale entry."""
    return [
        (e["account_id"], e["region"], len(e["records"]), e["scanned_at"])
        for e in snapshot["entries"].values()
        if e.get("stale")
    ]


def iter_records(snapshot: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every host record with ``crossaccount_stale`` and ``crossaccount_scanned_at`` added."""
    for entry in snapshot["entries"].values():
        stale = bool(entry.get("stale"))
        for record in entry["records"]:
            out = dict(record)
            out["crossaccount_stale"] = stale
            out["crossaccount_scanned_at"] = entry["scanned_at"]
            yield out
