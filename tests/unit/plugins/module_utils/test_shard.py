"""Unit tests for sharding (config.parse_shard/shard_of/select_shard, applied by accounts.resolve_accounts):
n shards cover the fleet with no overlap and no gap, and the split is stable."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils.accounts import resolve_accounts
from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    parse_shard,
    select_shard,
    shard_of,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from tests.support.settings import account_settings

# a few hundred account ids, reproducible: random ones and small ones with many leading zeros
_RNG = random.Random(7)
IDS = sorted({f"{_RNG.randrange(10**12):012d}" for _ in range(300)} | {f"{n * 7919:012d}" for n in range(100)})
FLEET = tuple(Account(id=i, role_arn=f"arn:aws:iam::{i}:role/R") for i in IDS)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 16, 50])
def test_shards_cover_the_fleet_with_no_overlap_and_no_gap(n):
    assert len(IDS) == 400
    parts = [select_shard(FLEET, (k, n)) for k in range(1, n + 1)]
    seen = Counter(a.id for part in parts for a in part)
    assert set(seen) == set(IDS), "no gap: every account is in some shard"
    assert set(seen.values()) == {1}, "no overlap: every account is in exactly one shard"
    assert sum(len(p) for p in parts) == len(FLEET)


def test_shards_are_balanced_enough():
    n = 4
    sizes = Counter(shard_of(i, n) for i in IDS)
    assert set(sizes) == {1, 2, 3, 4}
    assert min(sizes.values()) >= len(IDS) / n / 2, sizes


def test_shard_of_is_stable_and_independent_of_order_and_company():
    """The shard depends on the account id only: not on the order, nor on which other accounts exist."""
    shuffled = list(FLEET)
    random.Random(3).shuffle(shuffled)
    for k in (1, 2, 3):
        assert {a.id for a in select_shard(shuffled, (k, 3))} == {a.id for a in select_shard(FLEET, (k, 3))}
        assert {a.id for a in select_shard(FLEET[:10], (k, 3))} <= {a.id for a in select_shard(FLEET, (k, 3))}
    # pinned values: a change of the hash would silently reshuffle every estate's shards
    example_corp = ("111111111111", "222222222222", "333333333333", "444444444444")
    assert [shard_of(i, 4) for i in example_corp] == [3, 4, 1, 2]
    assert [shard_of(i, 2) for i in example_corp] == [1, 2, 1, 2]
    assert all(shard_of(i, 1) == 1 for i in IDS)


def test_no_shard_keeps_everything():
    assert select_shard(FLEET, None) == FLEET


@pytest.mark.parametrize(
    "value, expected", [("1/4", (1, 4)), (" 3 / 3 ", (3, 3)), ("1/1", (1, 1)), (None, None), ("", None)]
)
def test_parse_shard(value, expected):
    assert parse_shard(value) == expected


@pytest.mark.parametrize("value", ["0/4", "5/4", "1/0", "1-4", "a/b", "1/4/2", "-1/4", "1/10001", 3])
def test_parse_shard_refuses_bad_values_naming_the_key_and_the_fix(value):
    with pytest.raises(ConfigError) as info:
        parse_shard(value)
    text = str(info.value)
    assert "shard" in text and "k/n" in text and "\n" not in text


def test_resolve_accounts_applies_the_shard():
    settings = account_settings(explicit=FLEET, shard=(2, 5))
    accounts, failures = resolve_accounts(None, settings)
    assert failures == []
    assert accounts == tuple(a for a in FLEET if shard_of(a.id, 5) == 2)
    union = set()
    for k in range(1, 6):
        part, _ = resolve_accounts(None, account_settings(explicit=FLEET, shard=(k, 5)))
        assert not union & {a.id for a in part}
        union |= {a.id for a in part}
    assert union == set(IDS)
