# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot: what one scan found, and what it kept from the previous one.

The snapshot is what goes into Ansible's inventory cache (``snapshot_cache.py`` stores each
``Entry.to_dict`` as JSON text of its own, opaque to ansible-core's decoder, and reads it back
tolerantly) and what the inventory is built from. It holds instance data and failures only,
never credentials. It alone owns stale-if-error: the hosts of an account or account-region that
failed now are carried over from the previous snapshot, marked stale with the time of that data;
after a failed AWS Organizations discovery, the accounts only the previous snapshot knew (and
the file does not now exclude) are failures too, and keep their hosts the same way. ``stale_for``
tells, for one failure, how many hosts were kept and since when: the inventory's warnings and the
CMDB export both ask it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account, shard_of
from ansible_collections.crossaccount.aws.plugins.module_utils.constants import ORGANIZATION_FAILURE_ID
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    NotAnAwsResponse,
    ScanFailure,
    describe_failure,
)

if TYPE_CHECKING:  # annotations only
    from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import ScanResult

FORMAT = 1
NOT_DISCOVERED_CODE = "OrganizationDiscoveryFailed"


def fingerprint(**parts: Any) -> str:
    """A digest of the settings that shape the data (attributes, filters): a cached snapshot
    made with other settings is not reused."""
    blob = json.dumps(parts, sort_keys=True, default=list)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Stale:
    """The hosts kept from an earlier scan for one failure."""

    hosts: int
    since: str


def stale_for(failure: Mapping[str, Any], stale_hosts: Iterable[tuple[str, str, str, int]]) -> Stale | None:
    """The hosts kept stale for ``failure`` (a ``crossaccount_errors`` entry), from
    ``stale_hosts``: (account id, region, scanned at, host count) of each stale piece of data.
    An account-level failure (no region) covers every region of its account."""
    account_id, region = failure.get("account_id"), failure.get("region")
    kept = [(when, count) for a, r, when, count in stale_hosts if a == account_id and (region is None or r == region)]
    hosts = sum(count for _when, count in kept)
    return Stale(hosts=hosts, since=min(when for when, _count in kept)) if hosts else None


@dataclass(frozen=True)
class Entry:
    """The instances of one account-region, as scanned at ``scanned_at``."""

    account_id: str
    account_name: str | None
    region: str
    scanned_at: str
    stale: bool
    records: list[dict[str, Any]]

    @property
    def key(self) -> str:
        return f"{self.account_id}/{self.region}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.account_name,
            "region": self.region,
            "scanned_at": self.scanned_at,
            "stale": self.stale,
            "records": self.records,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Entry | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("records"), list):
            return None
        if not all(isinstance(data.get(k), str) for k in ("account_id", "region", "scanned_at")):
            return None
        name = data.get("account_name")
        return cls(
            account_id=data["account_id"],
            account_name=name if isinstance(name, str) else None,
            region=data["region"],
            scanned_at=data["scanned_at"],
            stale=bool(data.get("stale")),
            records=data["records"],
        )


@dataclass
class Snapshot:
    fingerprint: str
    scope: str
    scanned_at: str
    entries: dict[str, Entry] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        scan_result: ScanResult,
        *,
        fingerprint: str,
        scope: str,
        scanned_at: str,
        previous: Snapshot | None = None,
        accounts: Iterable[Account] = (),
        account_failures: Iterable[ScanFailure] = (),
        shard: tuple[int, int] | None = None,
        in_scope: Callable[[str, str], bool] | None = None,
        excluded_accounts: Iterable[str] = (),
    ) -> Snapshot:
        """The snapshot of ``scan_result`` (the scan of ``accounts``) with ``account_failures``
        (met while listing the accounts), carrying over from ``previous`` (same fingerprint only)
        the data of every failed account and account-region that ``in_scope(account_id, region)``
        says the configuration still scans (a region removed from the file is not kept alive by
        a failure of its account; see ``region_scope``). ``excluded_accounts`` (the ids of
        ``organization.exclude_accounts``) are never kept alive by a failed discovery."""
        entries = {}
        for result in scan_result.regions:
            entry = Entry(
                account_id=result.account.id,
                account_name=result.account.name,
                region=result.region,
                scanned_at=result.scanned_at,
                stale=False,
                records=result.records,
            )
            entries[entry.key] = entry
        failures = list(scan_result.failures) + list(account_failures)
        if previous is not None and previous.fingerprint != fingerprint:
            previous = None
        if previous is not None:
            failures += previous._undiscovered(accounts, failures, shard, excluded_accounts)
            failed_accounts = {f.account_id for f in failures if f.region is None}
            failed_regions = {(f.account_id, f.region) for f in failures if f.region is not None}
            for key, entry in previous.entries.items():
                if key in entries:
                    continue
                if in_scope is not None and not in_scope(entry.account_id, entry.region):
                    continue
                if entry.account_id in failed_accounts or (entry.account_id, entry.region) in failed_regions:
                    entries[key] = dataclasses.replace(entry, stale=True)
            failures += _refuse_repeats_of_stale(scan_result, entries, previous, in_scope)
        return cls(
            fingerprint=fingerprint,
            scope=scope,
            scanned_at=scanned_at,
            entries=dict(sorted(entries.items())),
            errors=[f.as_var() for f in failures],
        )

    def _undiscovered(
        self,
        accounts: Iterable[Account],
        failures: Iterable[ScanFailure],
        shard: tuple[int, int] | None,
        excluded_accounts: Iterable[str] = (),
    ) -> list[ScanFailure]:
        """After a failed Organizations discovery: one account-level failure for every account of
        this (previous) snapshot that is not scanned now and that the discovery could still list
        (not in ``excluded_accounts``, in this shard), so that its hosts are kept, marked stale,
        instead of vanishing. An account the file now excludes is dropped, as a region removed
        from the file is. Without a previous snapshot only the discovery failure is reported."""
        if not any(f.account_id == ORGANIZATION_FAILURE_ID for f in failures):
            return []
        scanned = {a.id for a in accounts} | set(excluded_accounts)
        names: dict[str, str | None] = {}
        for entry in self.entries.values():
            if entry.account_id in scanned:
                continue
            if shard is not None and shard_of(entry.account_id, shard[1]) != shard[0]:
                continue
            names.setdefault(entry.account_id, entry.account_name)
        return [
            ScanFailure(
                account_id=account_id,
                account_name=names[account_id],
                region=None,
                code=NOT_DISCOVERED_CODE,
                message="not scanned: the AWS Organizations discovery that listed this account failed",
                hint="see the 'organization' entry of crossaccount_errors",
            )
            for account_id in sorted(names)
        ]

    # -- reading ----------------------------------------------------------------------------

    def serves(self, fingerprint: str, scope: str) -> bool:
        """True when this (cached) snapshot was made with the same settings and scope."""
        return self.fingerprint == fingerprint and self.scope == scope

    def stale_for(self, failure: Mapping[str, Any]) -> Stale | None:
        """The hosts kept stale for one failure of this snapshot, and the time of that data."""
        return stale_for(
            failure, ((e.account_id, e.region, e.scanned_at, len(e.records)) for e in self.entries.values() if e.stale)
        )

    def records(self) -> Iterator[dict[str, Any]]:
        """Every host record with ``crossaccount_stale`` and ``crossaccount_scanned_at`` added."""
        for entry in self.entries.values():
            for record in entry.records:
                out = dict(record)
                out["crossaccount_stale"] = entry.stale
                out["crossaccount_scanned_at"] = entry.scanned_at
                yield out

    # -- the cache form ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "scope": self.scope,
            "scanned_at": self.scanned_at,
            "entries": {key: entry.to_dict() for key, entry in self.entries.items()},
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot | None:
        """The snapshot of a cache value, or None when it is not one of this format (a cache file
        edited or cut short by hand is ignored, never a crash)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            return None
        raw_entries, errors = data.get("entries"), data.get("errors")
        if not isinstance(raw_entries, Mapping) or not isinstance(errors, list):
            return None
        if not all(isinstance(data.get(k), str) for k in ("fingerprint", "scope", "scanned_at")):
            return None
        entries = {key: Entry.from_dict(value) for key, value in raw_entries.items()}
        if any(entry is None for entry in entries.values()) or not all(isinstance(e, Mapping) for e in errors):
            return None
        return cls(
            fingerprint=data["fingerprint"],
            scope=data["scope"],
            scanned_at=data["scanned_at"],
            entries=entries,
            errors=[dict(e) for e in errors],
        )


def region_scope(
    account_regions: Mapping[str, Iterable[str] | None], global_regions: Iterable[str], exclude: Iterable[str]
) -> Callable[[str, str], bool]:
    """Whether the configuration still scans (account id, region): the account's own regions, else
    the global ``regions``, else every enabled region; never an excluded one. ``account_regions``
    maps the accounts of this run to their own region list (None: the global setting applies);
    an account only the previous snapshot knows (a failed Organizations discovery) gets the
    global setting."""
    global_set = frozenset(global_regions)
    excluded = frozenset(exclude)

    def in_scope(account_id: str, region: str) -> bool:
        if region in excluded:
            return False
        chosen = frozenset(account_regions.get(account_id) or ()) or global_set
        return not chosen or region in chosen

    return in_scope


def run_vars(earlier: Mapping[str, Any], snapshot: Snapshot) -> dict[str, Any]:
    """``crossaccount_errors`` and ``crossaccount_scanned_at`` of group ``all`` after this source.

    Several sources (shards, or one file per business unit) in one inventory: their failures add
    up, and the scan time of the whole is that of the oldest scan. ``earlier`` holds the variables
    of ``all`` that the sources before this one set."""
    errors = list(earlier.get("crossaccount_errors") or []) + list(snapshot.errors)
    scanned_at = min(filter(None, (earlier.get("crossaccount_scanned_at"), snapshot.scanned_at)))
    return {"crossaccount_errors": errors, "crossaccount_scanned_at": scanned_at}


def _refuse_repeats_of_stale(
    scan_result: ScanResult,
    entries: dict[str, Entry],
    previous: Snapshot,
    in_scope: Callable[[str, str], bool] | None,
) -> list[ScanFailure]:
    """An account-region listed now that names an instance the data kept stale for another
    account-region holds: instance ids are unique in AWS and an instance never moves to another
    account or region, so this answer was meant for someone else (a proxy or cache keyed on the
    wrong thing), or the kept data was. The answer of now fails (``NotAnAwsResponse``) and that
    account-region keeps its own previous data, stale, like any failure: the inventory never holds
    one instance twice, and a forged copy never takes the name of the host kept from the cache.
    (``scanner.refuse_repeated_instances`` does the same between account-regions listed now.)"""
    failures: list[ScanFailure] = []
    while True:
        held = {
            str(record.get("instance_id")): entry
            for entry in entries.values()
            if entry.stale
            for record in entry.records
        }
        clash = next(
            (
                (entry, str(record.get("instance_id")))
                for entry in entries.values()
                if not entry.stale
                for record in entry.records
                if str(record.get("instance_id")) in held
            ),
            None,
        )
        if clash is None:
            return failures
        entry, iid = clash
        other = held[iid]
        problem = (
            f"the answer lists instance {iid}, which account {other.account_id} region {other.region} "
            f"held when it was last listed ({other.scanned_at}; that account-region failed now and its hosts "
            "are kept stale): instance ids are unique in AWS and never move, so one of the two answers "
            "was meant for another account or region"
        )
        failures.append(
            describe_failure(
                NotAnAwsResponse("DescribeInstances", problem),
                account_id=entry.account_id,
                account_name=entry.account_name,
                region=entry.region,
                operation="DescribeInstances",
            )
        )
        scan_result.progress.tasks_failed += 1
        scan_result.progress.instances -= len(entry.records)
        del entries[entry.key]
        kept = previous.entries.get(entry.key)
        if kept is not None and (in_scope is None or in_scope(kept.account_id, kept.region)):
            entries[entry.key] = dataclasses.replace(kept, stale=True)
