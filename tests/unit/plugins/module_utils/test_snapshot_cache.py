"""snapshot_cache.py: the snapshot stored opaque to ansible-core, read back tolerantly; and
snapshot.region_scope (no stale carry-over for a region no longer configured)."""

from __future__ import annotations

import copy
import json

import pytest
from ansible.plugins.loader import cache_loader

from ansible_collections.crossaccount.aws.plugins.module_utils import snapshot_cache
from ansible_collections.crossaccount.aws.plugins.module_utils.config import Account
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import Progress, RegionResult, ScanResult
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import (
    Snapshot,
    fingerprint,
    region_scope,
)

A = Account(id="111111111111", role_arn="arn:aws:iam::111111111111:role/R", name="=evil")
FP = fingerprint(attributes=None, filters={})
MARKER_TAGS = {
    "__ansible_type": "Origin",
    "path": "/etc/passwd",
    "__ansible_unsafe": "{{ lookup('pipe', 'id') }}",
    "__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256",
    "__payload__": "x",
    "Name": "caf\u00e9 \u4e2d\U0001f600",
}


def snapshot(tags=MARKER_TAGS) -> Snapshot:
    records = [{"instance_id": "i-1", "account_id": A.id, "region": "us-east-1", "ec2_tags": dict(tags)}]
    scan = ScanResult(
        regions=[
            RegionResult(account=A, region="us-east-1", records=records, scanned_at="T1"),
            RegionResult(account=A, region="eu-west-1", records=[], scanned_at="T1"),
        ],
        failures=[ScanFailure(A.id, A.name, "ap-south-1", "AuthFailure", "__ansible_type", "h")],
        progress=Progress(),
    )
    return Snapshot.build(scan, fingerprint=FP, scope="scope", scanned_at="T0")


def all_keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from all_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_keys(item)


def test_stored_value_has_only_our_keys_and_plain_strings():
    stored = snapshot_cache.encode_for_cache(snapshot())
    assert set(all_keys(stored)) == {"format", "fingerprint", "scope", "scanned_at", "errors", "entries"}
    assert all(isinstance(e, str) for e in stored["entries"]) and isinstance(stored["errors"], str)
    json.dumps(stored).encode("ascii")  # nothing a backend could refuse


def test_round_trip_exact():
    snap = snapshot()
    decoded = snapshot_cache.decode_cached(json.loads(json.dumps(snapshot_cache.encode_for_cache(snap))))
    assert decoded.servable and not decoded.problems
    assert decoded.snapshot == snap


def test_round_trip_through_ansible_cores_jsonfile_plugin(tmp_path):
    """The real cache stack of the installed ansible-core (2.19+ wraps every cache plugin and decodes
    with its own JSON profile, which acts on __ansible_type): marker tags come back exactly."""
    snap = snapshot()
    writer = cache_loader.get("jsonfile", _uri=str(tmp_path), _timeout=0)
    writer.set("k", snapshot_cache.encode_for_cache(snap))
    reader = cache_loader.get("jsonfile", _uri=str(tmp_path), _timeout=0)
    decoded = snapshot_cache.decode_cached(reader.get("k"))
    assert decoded.servable and decoded.snapshot == snap
    assert decoded.snapshot.entries["111111111111/us-east-1"].records[0]["ec2_tags"] == MARKER_TAGS


def test_ansible_core_still_interprets_markers_in_plain_cached_data(tmp_path):
    """Why the snapshot is opaque: stored as nested data, one tag breaks the read (guards the
    assumption; if ansible-core stops doing this the opacity is merely harmless)."""
    writer = cache_loader.get("jsonfile", _uri=str(tmp_path), _timeout=0)
    writer.set("plain", {"ec2_tags": {"__ansible_type": "NoSuchType"}})
    reader = cache_loader.get("jsonfile", _uri=str(tmp_path), _timeout=0)
    with pytest.raises(Exception):  # noqa: B017 - whatever ansible-core raises
        reader.get("plain")


def test_private_interface_cache_adjudicator_plugin(tmp_path):
    """The inventory plugin asks CachePluginAdjudicator._plugin.contains(key) to tell "no entry"
    from "an entry ansible-core cannot read" (both raise KeyError); listed in docs/design.md."""
    from ansible.plugins.cache import CachePluginAdjudicator

    adjudicator = CachePluginAdjudicator("jsonfile", _uri=str(tmp_path), _timeout=0)
    plugin = adjudicator._plugin
    assert plugin._persistent is True
    assert plugin.contains("k") is False
    plugin.set("k", {"x": 1})
    assert plugin.contains("k") is True
    (stored,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    stored.write_text("{}")
    fresh = CachePluginAdjudicator("jsonfile", _uri=str(tmp_path), _timeout=0)
    with pytest.raises(KeyError):
        fresh["k"]
    assert fresh._plugin.contains("k") is True


def _torn(stored: dict, index: int) -> dict:
    broken = copy.deepcopy(stored)
    broken["entries"][index] = broken["entries"][index][:20]
    return broken


@pytest.mark.parametrize(
    "damage, kept",
    [
        (lambda s: _torn(s, 0), ["111111111111/us-east-1"]),
        (lambda s: _torn(s, 1), ["111111111111/eu-west-1"]),
        (lambda s: {**s, "entries": [*s["entries"], 5, "[]", '{"account_id": 1}']}, None),
        (lambda s: {**s, "errors": "[{"}, None),
        (lambda s: {**s, "errors": '[{"account_id": null}]'}, None),
    ],
)
def test_damaged_parts_are_dropped_one_by_one(damage, kept):
    snap = snapshot()
    decoded = snapshot_cache.decode_cached(damage(snapshot_cache.encode_for_cache(snap)))
    assert not decoded.servable and decoded.problems
    expected = kept if kept is not None else list(snap.entries)
    assert list(decoded.snapshot.entries) == expected
    for key in expected:
        assert decoded.snapshot.entries[key] == snap.entries[key]


@pytest.mark.parametrize(
    "value",
    [
        None,
        5,
        "text",
        [],
        {},
        {"format": True},
        {"format": 2},
        {"format": 2, "fingerprint": 1, "scope": "s", "scanned_at": "t"},
        {"format": 2, "fingerprint": "f", "scope": "s", "scanned_at": "t", "entries": {"a": "b"}},
        {"format": 1, "entries": []},
    ],
)
def test_unreadable_values_never_raise(value):
    decoded = snapshot_cache.decode_cached(value)
    assert decoded.snapshot is None and not decoded.servable and decoded.problems


def test_another_versions_format_is_not_damage():
    decoded = snapshot_cache.decode_cached({"format": 3, "whatever": 1})
    assert decoded.snapshot is None and not decoded.problems and decoded.foreign == "cache format 3"


def test_legacy_snapshot_keeps_its_readable_entries_but_is_never_served():
    """A cache written by 1.0.0 (Snapshot.to_dict, nested data) after ansible-core's decoder turned
    a marker tag into one of its objects: that entry is dropped, the other one is kept."""
    snap = snapshot(tags={"Name": "n"})
    legacy = copy.deepcopy(snap.to_dict())
    legacy["entries"]["111111111111/eu-west-1"]["records"] = [{"instance_id": "i-2", "ec2_tags": object()}]
    decoded = snapshot_cache.decode_cached(legacy)
    assert not decoded.servable
    assert list(decoded.snapshot.entries) == ["111111111111/us-east-1"]
    assert decoded.snapshot.entries["111111111111/us-east-1"] == snap.entries["111111111111/us-east-1"]
    assert decoded.problems == ["1 of 2 account-region entries cannot be read and are dropped"]
    clean = snapshot_cache.decode_cached(snap.to_dict())
    assert not clean.servable and not clean.problems and clean.snapshot.entries == snap.entries


def test_region_scope():
    in_scope = region_scope(
        {"111111111111": ("eu-west-1",), "222222222222": None},
        global_regions=("us-east-1", "us-west-2"),
        exclude=("us-west-2",),
    )
    assert in_scope("111111111111", "eu-west-1") and not in_scope("111111111111", "us-east-1")
    assert in_scope("222222222222", "us-east-1") and not in_scope("222222222222", "eu-west-1")
    assert not in_scope("222222222222", "us-west-2"), "excluded"
    assert in_scope("999999999999", "us-east-1"), "an account only the cache knows: the global list"
    discovery = region_scope({}, global_regions=(), exclude=("eu-west-1",))
    assert discovery("1", "ap-south-1") and not discovery("1", "eu-west-1")


def test_failed_account_carries_over_only_regions_in_scope():
    previous = snapshot(tags={"Name": "n"})
    failed = ScanResult(
        regions=[], failures=[ScanFailure(A.id, A.name, None, "AccessDenied", "m", "h")], progress=Progress()
    )
    kept = Snapshot.build(
        failed,
        fingerprint=FP,
        scope="scope",
        scanned_at="T2",
        previous=previous,
        accounts=[A],
        in_scope=region_scope({A.id: ("eu-west-1",)}, (), ()),
    )
    assert list(kept.entries) == ["111111111111/eu-west-1"]
    assert kept.entries["111111111111/eu-west-1"].stale is True
    everything = Snapshot.build(failed, fingerprint=FP, scope="scope", scanned_at="T2", previous=previous)
    assert len(everything.entries) == 2
