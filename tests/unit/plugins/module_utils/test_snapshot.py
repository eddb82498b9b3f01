"""snapshot.py: what a scan found, and stale-if-error against the previous snapshot."""

from __future__ import annotations

import copy
import json

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import Progress, RegionResult, ScanResult
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import (
    build_snapshot,
    fingerprint,
    iter_records,
    previous_usable,
    stale_summary,
)

A = Account(id="111111111111", role_arn="arn:aws:iam::111111111111:role/R")
B = Account(id="222222222222", role_arn="arn:aws:iam::222222222222:role/R", name="development")
FP = fingerprint(attributes=None, filters={})
T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def record(iid: str, account: Account, region: str) -> dict:
    return {"instance_id": iid, "account_id": account.id, "region": region}


def region(account: Account, name: str, *iids: str, at: str) -> RegionResult:
    return RegionResult(account=account, region=name, records=[record(i, account, name) for i in iids], scanned_at=at)


def failure(account: Account, region_name: str | None, code: str = "AuthFailure") -> ScanFailure:
    return ScanFailure(account.id, account.name, region_name, code, "m", "h")


def result(regions=(), failures=()) -> ScanResult:
    return ScanResult(regions=list(regions), failures=list(failures), progress=Progress())


def first_snapshot() -> dict:
    scan = result(
        [
            region(A, "us-east-1", "i-a1", "i-a2", at=T1),
            region(A, "eu-west-1", "i-a3", at=T1),
            region(B, "us-east-1", "i-b1", at=T1),
            region(B, "eu-west-1", at=T1),  # scanned, no instances
        ]
    )
    return build_snapshot(scan, fingerprint_value=FP, scanned_at=T1)


def ids(snapshot: dict, stale: bool | None = None) -> set[str]:
    return {r["instance_id"] for r in iter_records(snapshot) if stale is None or r["crossaccount_stale"] is stale}


def test_fresh_snapshot():
    snap = first_snapshot()
    assert list(snap["entries"]) == sorted(snap["entries"])
    assert snap["entries"]["222222222222/us-east-1"]["account_name"] == "development"
    assert snap["errors"] == [] and snap["scanned_at"] == T1 and snap["fingerprint"] == FP
    assert ids(snap) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    assert ids(snap, stale=True) == set()
    assert stale_summary(snap) == []
    assert json.loads(json.dumps(snap)) == snap
    assert previous_usable(snap, FP)


def test_failed_account_and_region_keep_their_hosts_stale():
    previous = first_snapshot()
    scan = result(
        [region(B, "eu-west-1", "i-b9", at=T2)],
        [failure(A, None, "AccessDenied"), failure(B, "us-east-1")],
    )
    snap = build_snapshot(scan, fingerprint_value=FP, scanned_at=T2, previous=previous)
    assert ids(snap, stale=False) == {"i-b9"}
    assert ids(snap, stale=True) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    for rec in iter_records(snap):
        assert rec["crossaccount_scanned_at"] == (T2 if rec["instance_id"] == "i-b9" else T1)
    assert sorted(stale_summary(snap)) == [
        ("111111111111", "eu-west-1", 1, T1),
        ("111111111111", "us-east-1", 2, T1),
        ("222222222222", "us-east-1", 1, T1),
    ]
    assert [(e["account_id"], e["region"], e["code"]) for e in snap["errors"]] == [
        ("111111111111", None, "AccessDenied"),
        ("222222222222", "us-east-1", "AuthFailure"),
    ]


def test_stale_data_keeps_its_original_time_over_several_failures():
    snap = first_snapshot()
    for at in (T2, T3):
        snap = build_snapshot(
            result([], [failure(A, None), failure(B, None)]), fingerprint_value=FP, scanned_at=at, previous=snap
        )
    assert ids(snap, stale=True) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    assert {r["crossaccount_scanned_at"] for r in iter_records(snap)} == {T1}
    assert snap["scanned_at"] == T3


def test_only_failures_carry_data_over():
    """A region scanned fine replaces its old data (a deletion is a deletion); an account or
    region that is neither scanned nor failed now (removed from the configuration) is dropped."""
    previous = first_snapshot()
    scan = result([region(A, "us-east-1", "i-a1", at=T2)], [failure(A, "eu-west-1")])
    snap = build_snapshot(scan, fingerprint_value=FP, scanned_at=T2, previous=previous)
    assert ids(snap, stale=False) == {"i-a1"}
    assert ids(snap, stale=True) == {"i-a3"}
    assert "222222222222/us-east-1" not in snap["entries"]


def test_failures_from_outside_the_scan_carry_data_over_too():
    previous = first_snapshot()
    extra = [{"account_id": B.id, "account_name": B.name, "region": None, "code": "NotDiscovered", "message": "m"}]
    snap = build_snapshot(result(), fingerprint_value=FP, scanned_at=T2, previous=previous, extra_failures=extra)
    assert ids(snap, stale=True) == {"i-b1"}
    assert snap["errors"] == extra


def test_previous_from_other_settings_or_malformed_is_ignored():
    previous = first_snapshot()
    other = fingerprint(attributes=("instance_type",), filters={})
    assert other != FP
    assert fingerprint(filters={"a": 1}, attributes=None) == fingerprint(attributes=None, filters={"a": 1})
    assert not previous_usable(previous, other)
    snap = build_snapshot(result([], [failure(A, None)]), fingerprint_value=other, scanned_at=T2, previous=previous)
    assert snap["entries"] == {}

    broken = []
    for mutate in (
        lambda s: s.update(format=0),
        lambda s: s.update(entries=[]),
        lambda s: s.update(errors=None),
        lambda s: s["entries"]["111111111111/us-east-1"].pop("records"),
        lambda s: s["entries"].update({"x": "not a mapping"}),
    ):
        bad = copy.deepcopy(previous)
        mutate(bad)
        broken.append(bad)
    for bad in broken + [None, "text", {}]:
        assert not previous_usable(bad, FP)
        snap = build_snapshot(result([], [failure(A, None)]), fingerprint_value=FP, scanned_at=T2, previous=bad)
        assert snap["entries"] == {}


def test_iter_records_leaves_the_snapshot_untouched():
    snap = first_snapshot()
    before = copy.deepcopy(snap)
    for rec in iter_records(snap):
        rec["extra"] = 1
    assert snap == before
    assert all("crossaccount_stale" not in r for e in snap["entries"].values() for r in e["records"])
