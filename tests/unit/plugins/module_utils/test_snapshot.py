"""snapshot.py: what a scan found, stale-if-error against the previous snapshot (failed accounts and
regions, and the accounts a failed Organizations discovery no longer lists), stale_for, the cache form."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account, shard_of
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import Progress, RegionResult, ScanResult
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import (
    NOT_DISCOVERED_CODE,
    Snapshot,
    Stale,
    fingerprint,
    run_vars,
    stale_for,
)

A = Account(id="111111111111", role_arn="arn:aws:iam::111111111111:role/R")
B = Account(id="222222222222", role_arn="arn:aws:iam::222222222222:role/R", name="development")
FP = fingerprint(attributes=None, filters={})
SCOPE = fingerprint(scope="accounts A and B")
T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def record(iid: str, account: Account, region: str) -> dict:
    return {"instance_id": iid, "account_id": account.id, "region": region}


def region(account: Account, name: str, *iids: str, at: str) -> RegionResult:
    return RegionResult(account=account, region=name, records=[record(i, account, name) for i in iids], scanned_at=at)


def failure(account: Account, region_name: str | None, code: str = "AuthFailure") -> ScanFailure:
    return ScanFailure(account.id, account.name, region_name, code, "m", "h")


def result(regions=(), failures=()) -> ScanResult:
    return ScanResult(regions=list(regions), failures=list(failures), progress=Progress())


def build(scan, at, previous=None, fp=FP, **kw) -> Snapshot:
    return Snapshot.build(scan, fingerprint=fp, scope=SCOPE, scanned_at=at, previous=previous, **kw)


def first_snapshot() -> Snapshot:
    scan = result(
        [
            region(A, "us-east-1", "i-a1", "i-a2", at=T1),
            region(A, "eu-west-1", "i-a3", at=T1),
            region(B, "us-east-1", "i-b1", at=T1),
            region(B, "eu-west-1", at=T1),  # scanned, no instances
        ]
    )
    return build(scan, T1)


def ids(snapshot: Snapshot, stale: bool | None = None) -> set[str]:
    return {r["instance_id"] for r in snapshot.records() if stale is None or r["crossaccount_stale"] is stale}


def stale_summary(snapshot: Snapshot) -> list[tuple[str, str, int, str]]:
    return [(e.account_id, e.region, len(e.records), e.scanned_at) for e in snapshot.entries.values() if e.stale]


def test_fresh_snapshot_and_its_plain_json_cache_form():
    snap = first_snapshot()
    assert list(snap.entries) == sorted(snap.entries)
    assert snap.entries["222222222222/us-east-1"].account_name == "development"
    assert snap.errors == [] and snap.scanned_at == T1 and snap.fingerprint == FP
    assert ids(snap) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    assert ids(snap, stale=True) == set()
    assert stale_summary(snap) == []
    plain = snap.to_dict()
    assert json.loads(json.dumps(plain)) == plain, "the cache holds plain JSON"
    assert plain["format"] == 1 and plain["scope"] == SCOPE
    assert plain["entries"]["111111111111/us-east-1"]["records"][0] == record("i-a1", A, "us-east-1")
    assert Snapshot.from_dict(plain) == snap
    assert snap.serves(FP, SCOPE) and not snap.serves(FP, "other") and not snap.serves("other", SCOPE)


def test_failed_account_and_region_keep_their_hosts_stale():
    previous = first_snapshot()
    scan = result(
        [region(B, "eu-west-1", "i-b9", at=T2)],
        [failure(A, None, "AccessDenied"), failure(B, "us-east-1")],
    )
    snap = build(scan, T2, previous)
    assert ids(snap, stale=False) == {"i-b9"}
    assert ids(snap, stale=True) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    for rec in snap.records():
        assert rec["crossaccount_scanned_at"] == (T2 if rec["instance_id"] == "i-b9" else T1)
    assert sorted(stale_summary(snap)) == [
        ("111111111111", "eu-west-1", 1, T1),
        ("111111111111", "us-east-1", 2, T1),
        ("222222222222", "us-east-1", 1, T1),
    ]
    assert [(e["account_id"], e["region"], e["code"]) for e in snap.errors] == [
        ("111111111111", None, "AccessDenied"),
        ("222222222222", "us-east-1", "AuthFailure"),
    ]
    # stale_for: what the warnings and the export say about each failure
    assert snap.stale_for(snap.errors[0]) == Stale(hosts=3, since=T1)
    assert snap.stale_for(snap.errors[1]) == Stale(hosts=1, since=T1)
    assert snap.stale_for({"account_id": B.id, "region": "eu-west-1"}) is None


def test_an_answer_repeating_an_instance_kept_stale_fails_and_its_region_keeps_its_own_data():
    """Account A failed now (its hosts are kept from T1); B's us-east-1 answers with A's i-a1 (a
    proxy or cache keyed on the wrong account). Instance ids never move, so B's answer fails too:
    B us-east-1 keeps its own T1 data, stale, and no instance is in the inventory twice."""
    previous = first_snapshot()
    scan = result(
        [region(B, "us-east-1", "i-a1", "i-b2", at=T2), region(B, "eu-west-1", "i-b9", at=T2)],
        [failure(A, None, "AccessDenied")],
    )
    scan.progress.instances = 3
    snap = build(scan, T2, previous)
    assert ids(snap, stale=False) == {"i-b9"}
    assert ids(snap, stale=True) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    assert sorted(r["instance_id"] for r in snap.records()) == ["i-a1", "i-a2", "i-a3", "i-b1", "i-b9"]
    assert [(e["account_id"], e["region"], e["code"]) for e in snap.errors] == [
        ("111111111111", None, "AccessDenied"),
        ("222222222222", "us-east-1", "NotAnAwsResponse"),
    ]
    message = snap.errors[1]["message"]
    assert "instance i-a1" in message and "account 111111111111 region us-east-1" in message and T1 in message
    assert snap.stale_for(snap.errors[1]) == Stale(hosts=1, since=T1)
    assert (scan.progress.tasks_failed, scan.progress.instances) == (1, 1)


def test_a_refused_answer_whose_own_old_data_clashes_again_is_followed_to_the_end():
    """The previous data B us-east-1 falls back to holds i-c1, which C eu-west-1 lists now: C's
    answer fails in turn (the check runs until nothing listed now repeats what is kept stale)."""
    C = Account(id="333333333333", role_arn="arn:aws:iam::333333333333:role/R")
    previous = build(
        result(
            [
                region(A, "us-east-1", "i-a1", at=T1),
                region(B, "us-east-1", "i-b1", "i-c1", at=T1),  # itself doubtful, kept as it was
                region(C, "eu-west-1", "i-c2", at=T1),
            ]
        ),
        T1,
    )
    scan = result(
        [region(B, "us-east-1", "i-a1", at=T2), region(C, "eu-west-1", "i-c1", "i-c2", at=T2)],
        [failure(A, None)],
    )
    snap = build(scan, T2, previous)
    assert ids(snap, stale=False) == set()
    assert sorted(r["instance_id"] for r in snap.records()) == ["i-a1", "i-b1", "i-c1", "i-c2"]
    assert [(e["account_id"], e["region"], e["code"]) for e in snap.errors] == [
        ("111111111111", None, "AuthFailure"),
        ("222222222222", "us-east-1", "NotAnAwsResponse"),
        ("333333333333", "eu-west-1", "NotAnAwsResponse"),
    ]


def test_without_a_previous_snapshot_or_a_repeat_nothing_is_refused():
    scan = result([region(B, "us-east-1", "i-a1", at=T2)], [failure(A, None)])
    assert build(scan, T2).errors == [failure(A, None).as_var()]
    previous = first_snapshot()
    scan = result([region(B, "us-east-1", "i-b1", "i-b5", at=T2)], [failure(A, None)])
    snap = build(scan, T2, previous)
    assert [e["code"] for e in snap.errors] == ["AuthFailure"]
    assert ids(snap, stale=False) == {"i-b1", "i-b5"}


def test_stale_for_takes_the_oldest_time_and_counts_every_region_of_an_account_failure():
    pieces = [(A.id, "us-east-1", T2, 2), (A.id, "eu-west-1", T1, 1), (B.id, "us-east-1", T1, 5)]
    assert stale_for({"account_id": A.id, "region": None}, pieces) == Stale(hosts=3, since=T1)
    assert stale_for({"account_id": A.id, "region": "us-east-1"}, pieces) == Stale(hosts=2, since=T2)
    assert stale_for({"account_id": "333333333333", "region": None}, pieces) is None


def test_stale_data_keeps_its_original_time_over_several_failures():
    snap = first_snapshot()
    for at in (T2, T3):
        snap = build(result([], [failure(A, None), failure(B, None)]), at, snap)
    assert ids(snap, stale=True) == {"i-a1", "i-a2", "i-a3", "i-b1"}
    assert {r["crossaccount_scanned_at"] for r in snap.records()} == {T1}
    assert snap.scanned_at == T3


def test_only_failures_carry_data_over():
    """A region scanned fine replaces its old data (a deletion is a deletion); an account or
    region that is neither scanned nor failed now (removed from the configuration) is dropped."""
    previous = first_snapshot()
    snap = build(result([region(A, "us-east-1", "i-a1", at=T2)], [failure(A, "eu-west-1")]), T2, previous)
    assert ids(snap, stale=False) == {"i-a1"}
    assert ids(snap, stale=True) == {"i-a3"}
    assert "222222222222/us-east-1" not in snap.entries


def test_failures_from_listing_the_accounts_carry_data_over_too():
    previous = first_snapshot()
    denied = ScanFailure(B.id, B.name, None, "NotDiscovered", "m")
    snap = build(result(), T2, previous, account_failures=[denied])
    assert ids(snap, stale=True) == {"i-b1"}
    assert snap.errors == [denied.as_var()]


def test_previous_from_other_settings_or_malformed_is_ignored():
    previous = first_snapshot()
    other = fingerprint(attributes=("instance_type",), filters={})
    assert other != FP
    assert fingerprint(filters={"a": 1}, attributes=None) == fingerprint(attributes=None, filters={"a": 1})
    snap = build(result([], [failure(A, None)]), T2, previous, fp=other)
    assert snap.entries == {}

    broken = []
    for mutate in (
        lambda s: s.update(format=0),
        lambda s: s.update(entries=[]),
        lambda s: s.update(errors=None),
        lambda s: s.pop("scope"),
        lambda s: s["entries"]["111111111111/us-east-1"].pop("records"),
        lambda s: s["entries"].update({"x": "not a mapping"}),
        lambda s: s["errors"].append("not a mapping"),
    ):
        bad = copy.deepcopy(previous.to_dict())
        mutate(bad)
        broken.append(bad)
    for bad in broken + [None, "text", {}, []]:
        assert Snapshot.from_dict(bad) is None, bad


def test_records_leave_the_snapshot_untouched():
    snap = first_snapshot()
    before = copy.deepcopy(snap.to_dict())
    for rec in snap.records():
        rec["extra"] = 1
    assert snap.to_dict() == before
    assert all("crossaccount_stale" not in r for e in snap.entries.values() for r in e.records)


def test_run_vars_add_up_over_sources():
    snap = build(result([], [failure(A, None)]), T2)
    assert run_vars({}, snap) == {"crossaccount_errors": snap.errors, "crossaccount_scanned_at": T2}
    earlier = {"crossaccount_errors": [{"account_id": "x"}], "crossaccount_scanned_at": T1}
    merged = run_vars(earlier, snap)
    assert merged["crossaccount_errors"] == [{"account_id": "x"}, *snap.errors]
    assert merged["crossaccount_scanned_at"] == T1, "the oldest scan of all sources"


# ---------------------------------------------------------------------------------------------
# after a failed AWS Organizations discovery


def _org_failure() -> ScanFailure:
    return ScanFailure("organization", None, None, "AccessDeniedException", "ListAccounts: denied")


def _previous(*entries) -> Snapshot:
    scan = result([RegionResult(Account(a, f"arn:aws:iam::{a}:role/R", n), r, [], "t") for a, n, r in entries])
    return build(scan, T1)


PREVIOUS = _previous(
    ("111111111111", "explicit", "us-east-1"),
    ("222222222222", "from-org", "us-east-1"),
    ("222222222222", "from-org", "eu-west-1"),
    ("333333333333", None, "us-east-1"),
)
SCANNED = (Account("111111111111", "arn:aws:iam::111111111111:role/R"),)


def _undiscovered(previous, failures, shard=None, excluded=()) -> list[tuple]:
    snap = build(
        result(), T2, previous, accounts=SCANNED, account_failures=failures, shard=shard, excluded_accounts=excluded
    )
    return [
        (e["account_id"], e["account_name"], e["region"], e["code"])
        for e in snap.errors
        if e["code"] == NOT_DISCOVERED_CODE
    ]


def test_after_a_failed_discovery_the_missing_accounts_become_failures_and_keep_their_hosts():
    previous = _previous(("222222222222", "from-org", "us-east-1"))
    previous.entries["222222222222/us-east-1"].records.append(record("i-b1", B, "us-east-1"))
    snap = build(result(), T2, previous, accounts=SCANNED, account_failures=[_org_failure()])
    assert ids(snap, stale=True) == {"i-b1"}
    assert snap.stale_for(snap.errors[1]) == Stale(hosts=1, since="t")
    assert _undiscovered(PREVIOUS, [_org_failure()]) == [
        ("222222222222", "from-org", None, NOT_DISCOVERED_CODE),
        ("333333333333", None, None, NOT_DISCOVERED_CODE),
    ]
    [entry] = [e for e in snap.errors if e["code"] == NOT_DISCOVERED_CODE]
    assert "Organizations discovery" in entry["message"]


@pytest.mark.parametrize(
    "previous, failures",
    [
        (PREVIOUS, []),  # discovery worked: an account gone from the organization is gone
        (PREVIOUS, [ScanFailure("222222222222", None, None, "AccessDenied", "AssumeRole: no")]),
        (None, [_org_failure()]),  # no cache: nothing to keep
    ],
)
def test_nothing_to_keep(previous, failures):
    assert _undiscovered(previous, failures) == []


def test_only_accounts_of_this_shard_are_kept():
    kept = _undiscovered(PREVIOUS, [_org_failure()], shard=(1, 2))
    assert {k[0] for k in kept} == {a for a in ("222222222222", "333333333333") if shard_of(a, 2) == 1}


def test_an_account_the_file_now_excludes_is_not_kept_alive_by_a_failed_discovery():
    previous = _previous(("222222222222", "from-org", "us-east-1"), ("333333333333", None, "us-east-1"))
    previous.entries["222222222222/us-east-1"].records.append(record("i-b1", B, "us-east-1"))
    previous.entries["333333333333/us-east-1"].records.append({"instance_id": "i-c1"})
    snap = build(
        result(), T2, previous, accounts=SCANNED, account_failures=[_org_failure()], excluded_accounts=["222222222222"]
    )
    assert ids(snap) == {"i-c1"}  # the excluded account's host is gone, the other one is kept stale
    assert {e["account_id"] for e in snap.errors} == {"organization", "333333333333"}
    assert _undiscovered(PREVIOUS, [_org_failure()], excluded=("222222222222", "333333333333")) == []


def test_an_excluded_account_that_is_also_listed_explicitly_is_scanned_not_doubled():
    # exclude_accounts applies to what Organizations lists; an explicit entry is scanned anyway
    assert _undiscovered(PREVIOUS, [_org_failure()], excluded=("111111111111",)) == [
        ("222222222222", "from-org", None, NOT_DISCOVERED_CODE),
        ("333333333333", None, None, NOT_DISCOVERED_CODE),
    ]
