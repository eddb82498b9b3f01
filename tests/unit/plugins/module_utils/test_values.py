from __future__ import annotations

import datetime

from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain


class TaggedStr(str):
    pass


class TaggedDict(dict):
    pass


def test_plain_copies_to_builtin_types_only():
    value = TaggedDict(a=TaggedStr("x"), b=[TaggedStr("y"), (1, 2.5, True, None)], c={TaggedStr("k"): 3})
    out = plain(value)
    assert out == {"a": "x", "b": ["y", [1, 2.5, True, None]], "c": {"k": 3}}
    assert type(out) is dict and type(out["a"]) is str and type(next(iter(out["c"]))) is str
    assert type(out["b"][1]) is list


def test_bools_stay_bools_and_other_types_are_stringified_or_kept():
    day = datetime.date(2026, 11, 29)
    assert plain(True) is True
    assert plain(day) == "2026-11-29"
    assert plain(day, stringify_other=False) is day
    assert plain({"when": day}, stringify_other=False) == {"when": day}
