"""Unit tests for plugins/module_utils/export.py: rows, CSV, JSON and the atomic write."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import export


def host(account="111111111111", region="us-east-1", iid="i-1", **extra):
    hv = {
        "instance_id": iid,
        "account_id": account,
        "region": region,
        "crossaccount_scanned_at": "2026-01-02T03:04:05Z",
        "crossaccount_stale": False,
        "ec2_tags": {"Name": f"name-{iid}", "Environment": "prod"},
        "state": {"code": 16, "name": "running"},
        "instance_type": "t3.micro",
        "private_ip_address": "10.0.0.1",
        "launch_time": "2026-01-01T00:00:00.000Z",
        "placement": {"availability_zone": region + "a"},
    }
    hv.update(extra)
    return hv


class TaggedStr(str):
    """Stands for ansible-core's tagged string subclasses."""


class TaggedDict(dict):
    pass


def test_row_from_host_variables():
    row = export.instance_row(host(account_name="prod", vpc_id="vpc-1"), tag_columns=["Environment", "Owner"])
    assert row == {
        "account_id": "111111111111",
        "account_name": "prod",
        "region": "us-east-1",
        "instance_id": "i-1",
        "name": "name-i-1",
        "state": "running",
        "instance_type": "t3.micro",
        "private_ip_address": "10.0.0.1",
        "public_ip_address": "",
        "availability_zone": "us-east-1a",
        "vpc_id": "vpc-1",
        "launch_time": "2026-01-01T00:00:00.000Z",
        "stale": False,
        "scanned_at": "2026-01-02T03:04:05Z",
        "tag_Environment": "prod",
        "tag_Owner": "",
        "tags": {"Name": "name-i-1", "Environment": "prod"},
    }


def test_row_with_lean_attributes_and_no_tags():
    hv = {"instance_id": "i-2", "account_id": "1", "region": "r", "crossaccount_scanned_at": "t", "ec2_tags": {}}
    row = export.instance_row(hv)
    assert row["name"] == row["state"] == row["availability_zone"] == row["private_ip_address"] == ""
    assert row["stale"] is False and row["tags"] == {}
    assert export.instance_row({**hv, "state": "stopped"})["state"] == "stopped"


def test_plain_strips_subclasses():
    value = export.plain(TaggedDict({TaggedStr("k"): [TaggedStr("v"), 1, 2.5, None, True, ("t",)]}))
    assert value == {"k": ["v", 1, 2.5, None, True, ["t"]]}
    assert type(value) is dict and type(next(iter(value))) is str and type(value["k"][0]) is str
    row = export.instance_row(host(instance_id=TaggedStr("i-9"), ec2_tags=TaggedDict(Name=TaggedStr("n"))))
    assert type(row["instance_id"]) is str and type(row["name"]) is str and type(row["tags"]) is dict


def test_export_is_sorted_counts_and_skips_other_hosts():
    hosts = [
        host("222222222222", "eu-west-1", "i-b"),
        host("111111111111", "us-east-1", "i-c"),
        host("111111111111", "eu-west-1", "i-z"),
        host(
            "111111111111", "us-east-1", "i-a", crossaccount_stale=True, crossaccount_scanned_at="2025-12-31T00:00:00Z"
        ),
        {"inventory_hostname": "localhost"},  # not an EC2 host of this inventory
        {"instance_id": "i-x", "account_id": "3"},  # another inventory source, not ours
    ]
    doc = export.build_export(hosts, errors=[], scanned_at="2026-01-02T03:04:05Z")
    keys = [(r["account_id"], r["region"], r["instance_id"]) for r in doc["instances"]]
    assert keys == [
        ("111111111111", "eu-west-1", "i-z"),
        ("111111111111", "us-east-1", "i-a"),
        ("111111111111", "us-east-1", "i-c"),
        ("222222222222", "eu-west-1", "i-b"),
    ]
    assert doc["counts"] == {"instances": 4, "stale_instances": 1, "accounts": 2, "errors": 0}
    assert doc["complete"] is True and doc["scanned_at"] == "2026-01-02T03:04:05Z"
    assert doc["columns"][:4] == ["account_id", "account_name", "region", "instance_id"]


def affixed(hv, prefix=None, suffix=None):
    """``hv`` as a source with hostvars_prefix / hostvars_suffix publishes it (aws_ec2_compat)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import host_variables

    return host_variables(hv, prefix, suffix)


@pytest.mark.parametrize(("prefix", "suffix"), [("aws_", None), (None, "_x"), ("aws_", "_x")])
def test_rows_are_the_same_whatever_hostvars_prefix_and_suffix(prefix, suffix):
    plain_hosts = [host("111111111111", "us-east-1", "i-a", account_name="a"), host("2", "eu-west-1", "i-b")]
    renamed = [affixed(hv, prefix, suffix) for hv in plain_hosts]
    assert "instance_id" not in renamed[0]
    assert all(export.is_plugin_host(hv) and export.is_export_host(hv) for hv in renamed)
    want = export.build_export(plain_hosts, errors=[], scanned_at="t", tag_columns=["Environment"])
    got = export.build_export(renamed, errors=[], scanned_at="t", tag_columns=["Environment"])
    assert got == want and got["counts"]["instances"] == 2 and got["instances"][0]["state"] == "running"
    assert export.unread_problem(2, got) is None


def test_plugin_hosts_that_give_no_row_refuse_the_export():
    """Hosts of this plugin whose instance variables are not where the export reads them (a prefix
    not published, say): the export must not be written as complete with fewer rows."""
    unreadable = {k: v for k, v in affixed(host(), "aws_").items() if k != "crossaccount_hostvars_prefix"}
    hosts = [unreadable, host(iid="i-2")]
    assert [export.is_plugin_host(hv) for hv in hosts] == [True, True]
    doc = export.build_export(hosts, errors=[], scanned_at="t")
    assert doc["counts"]["instances"] == 1
    problem = export.unread_problem(2, doc)
    assert "2 host(s) made by crossaccount.aws.ec2 but only 1" in problem
    assert "the previous export is left as it was" in problem
    assert export.unread_problem(0, export.build_export([], errors=[], scanned_at="t")) is None


def test_errors_list_the_hosts_kept_stale_for_them():
    hosts = [
        host(
            "111111111111", "us-east-1", "i-1", crossaccount_stale=True, crossaccount_scanned_at="2026-01-01T00:00:02Z"
        ),
        host(
            "111111111111", "eu-west-1", "i-2", crossaccount_stale=True, crossaccount_scanned_at="2026-01-01T00:00:01Z"
        ),
        host("222222222222", "eu-west-1", "i-3", crossaccount_stale=True),
        host("222222222222", "us-east-1", "i-4"),
    ]
    errors = [
        {"account_id": "222222222222", "account_name": None, "region": "eu-west-1", "code": "Denied", "message": "m"},
        {"account_id": "111111111111", "account_name": "a", "region": None, "code": "AccessDenied", "message": "x"},
        {"account_id": "organization", "account_name": None, "region": None, "code": "Boom", "message": "y"},
    ]
    doc = export.build_export(hosts, errors=errors, scanned_at="now")
    assert doc["complete"] is False
    assert [(e["account_id"], e["region"], e["stale_hosts"], e["stale_since"]) for e in doc["errors"]] == [
        ("111111111111", "", 2, "2026-01-01T00:00:01Z"),
        ("222222222222", "eu-west-1", 1, "2026-01-02T03:04:05Z"),
        ("organization", "", 0, ""),
    ]
    text = export.render_errors_csv(doc).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["code"] for r in rows] == ["AccessDenied", "Denied", "Boom"]
    assert list(rows[0]) == list(export.ERROR_COLUMNS)


def test_csv_rendering_and_formula_guard():
    hosts = [
        host(iid="i-1", ec2_tags={"Name": '=HYPERLINK("http://x")', "Team": "@ops", "Note": 'a,"b"\nc'}),
        host(iid="i-2", account_name="-1+1", crossaccount_stale=True),
    ]
    doc = export.build_export(hosts, errors=[], scanned_at="t", tag_columns=["Team", "Note"])
    data = export.render_csv(doc)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["tag_Team"] == "'@ops"
    assert rows[0]["tag_Note"] == 'a,"b"\nc'  # quoted, round-trips
    assert rows[1]["account_name"] == "'-1+1"
    assert [r["stale"] for r in rows] == ["false", "true"]
    assert data.startswith(b"account_id,account_name,region,instance_id,name,state,instance_type,")
    # the JSON keeps values as they are
    doc_json = json.loads(export.render_json(doc))
    assert doc_json["instances"][0]["name"] == '=HYPERLINK("http://x")'
    assert doc_json["instances"][1]["stale"] is True


def test_a_lone_surrogate_is_written_as_the_replacement_character():
    """A JSON answer (an Organizations account name, an error message) can hold a lone surrogate,
    which has no UTF-8 form: the three files are written with U+FFFD in its place, not refused."""
    hosts = [host(iid="i-1", account_name="a\ud800b", ec2_tags={"Name": "\udfff=x", "K\ud83d": "v"})]
    errors = [{"account_id": "222222222222", "account_name": "n\udc00", "code": "X", "message": "m\ud800"}]
    doc = export.build_export(hosts, errors=errors, scanned_at="t", tag_columns=["K\ud83d"])
    rows = list(csv.DictReader(io.StringIO(export.render_csv(doc).decode("utf-8"), newline="")))
    assert (rows[0]["account_name"], rows[0]["name"]) == ("a\ufffdb", "\ufffd=x")
    assert rows[0]["tag_K\ufffd"] == "v"
    failures = list(csv.DictReader(io.StringIO(export.render_errors_csv(doc).decode("utf-8"), newline="")))
    assert (failures[0]["account_name"], failures[0]["message"]) == ("n\ufffd", "m\ufffd")
    document = json.loads(export.render_json(doc).decode("utf-8"))
    assert document["instances"][0]["tags"] == {"Name": "\ufffd=x", "K\ufffd": "v"}
    assert document["errors"][0]["message"] == "m\ufffd"
    # valid text is written as it is
    assert (
        export.render_csv(export.build_export([host(account_name="\U0001f600")], errors=[], scanned_at="t")).count(
            "\U0001f600".encode()
        )
        == 1
    )


@pytest.mark.parametrize(
    "value, neutralised",
    [
        ("=1+1", True),
        ("+1", True),
        ("-1", True),
        ("@SUM(A1)", True),
        ("\tx", True),
        ("\rx", True),
        ("\nx", True),
        ("  =cmd|' /C calc'!A0", True),
        ("\u00a0\u3000@x", True),  # no-break and ideographic space
        ("\u200b=x", True),  # zero-width space
        ("\ufeff +x", True),
        ("\uff1dHYPERLINK()", True),  # full-width =
        ("\uff0b1", True),
        ("\uff0d1", True),
        ("\uff20x", True),
        ("\u22121", True),  # minus sign
        ("web-1", False),
        ("a=b", False),
        ("", False),
        ("   ", False),
        ("10.0.0.1", False),
    ],
)
def test_formula_cells_are_neutralised(value, neutralised):
    assert export.neutralise_formula(value) == ("'" + value if neutralised else value)


def test_errors_csv_neutralises_formulas_like_the_instances_csv():
    """Account names come from Organizations (member-account admins rename accounts), messages
    from AWS or whatever answered: every text cell of cmdb-errors.csv gets the same guard."""
    hosts = [host(iid="i-1", account_name="=evil()")]
    errors = [
        {
            "account_id": "111111111111",
            "account_name": ' =HYPERLINK("http://x")',
            "region": None,
            "code": "AccessDenied",
            "message": "@SUM(1)",
            "hint": "\uff0bcmd",
        }
    ]
    doc = export.build_export(hosts, errors=errors, scanned_at="t")
    (row,) = list(csv.DictReader(io.StringIO(export.render_errors_csv(doc).decode("utf-8"), newline="")))
    assert row["account_name"] == '\' =HYPERLINK("http://x")'
    assert row["message"] == "'@SUM(1)" and row["hint"] == "'\uff0bcmd"
    assert row["code"] == "AccessDenied" and row["stale_hosts"] == "0"
    (instance,) = list(csv.DictReader(io.StringIO(export.render_csv(doc).decode("utf-8"), newline="")))
    assert instance["account_name"] == "'=evil()"
    assert doc["errors"][0]["account_name"] == ' =HYPERLINK("http://x")', "the JSON keeps the value"


@pytest.mark.parametrize(
    "hosts, errors, refused",
    [
        ([], [{"account_id": "1", "code": "AccessDenied"}], True),  # every account failed
        ([{"crossaccount_stale": True}], [{"account_id": "1", "code": "AccessDenied"}], True),  # all stale
        ([{"crossaccount_stale": True}], [], True),  # all stale, no failure listed: not believable
        ([{"crossaccount_stale": True}, {}], [{"account_id": "1", "code": "AccessDenied"}], False),
        ([{}], [{"account_id": "1", "code": "AccessDenied"}], False),  # partly scanned
        ([], [], False),  # scanned, and nothing there
    ],
)
def test_unscanned_problem(hosts, errors, refused):
    doc = export.build_export([host(iid=f"i-{n}", **h) for n, h in enumerate(hosts)], errors=errors, scanned_at="t")
    problem = export.unscanned_problem(doc)
    assert (problem is not None) is refused
    if refused:
        assert "previous export is left as it was" in problem
    if refused and errors:
        assert "nothing was scanned successfully" in problem and "1: AccessDenied" in problem


@pytest.mark.parametrize(
    "value, message",
    [
        ("Environment", "expected a list"),
        ([1], "tag_columns[0]"),
        (["ok", "bad\nkey"], "tag_columns[1]"),
        (["Environment\n"], "tag_columns[0]"),  # a trailing newline (a YAML block scalar): no tag has it
        (["x" * 129], "tag_columns[0]"),
    ],
)
def test_tag_columns_are_checked(value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        export.check_tag_columns(value)


def test_tag_columns_accepted():
    assert export.check_tag_columns(None) == []
    assert export.check_tag_columns(["Environment", "aws:cloudformation:stack-name"]) == [
        "Environment",
        "aws:cloudformation:stack-name",
    ]


# ---------------------------------------------------------------------------------------------
# writing


def test_write_replaces_and_skips_identical_content(tmp_path):
    a, b = str(tmp_path / "a.csv"), str(tmp_path / "b.json")
    assert sorted(export.write_atomically({a: b"one", b: b"two"}, 0o640)) == [a, b]
    assert open(a, "rb").read() == b"one" and oct(os.stat(a).st_mode & 0o777) == "0o640"
    assert export.write_atomically({a: b"one", b: b"three"}, 0o640) == [b]
    assert open(b, "rb").read() == b"three"
    assert export.write_atomically({a: b"one", b: b"three"}, 0o640) == []
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.json"]


def test_mode_is_applied_when_the_content_did_not_change(tmp_path):
    a, b = str(tmp_path / "a.csv"), str(tmp_path / "b.json")
    export.write_atomically({a: b"one", b: b"two"}, 0o644)
    inode = os.stat(a).st_ino
    assert sorted(export.write_atomically({a: b"one", b: b"two"}, 0o600)) == [a, b]
    assert [oct(os.stat(p).st_mode & 0o777) for p in (a, b)] == ["0o600", "0o600"]
    assert os.stat(a).st_ino == inode, "same content: not rewritten, only chmod"
    os.chmod(b, 0o666)  # changed behind the export's back
    assert export.write_atomically({a: b"one", b: b"two"}, 0o600) == [b]
    assert oct(os.stat(b).st_mode & 0o777) == "0o600"


def test_a_mode_that_cannot_be_applied_leaves_every_old_file(tmp_path, monkeypatch):
    """The chmod of an unchanged file fails (another user owns it): nothing is renamed into place,
    no temporary file is left and the modes already changed are set back."""
    a, b, c = (str(tmp_path / n) for n in ("a.csv", "b.json", "c.csv"))
    export.write_atomically({a: b"one", b: b"two", c: b"old"}, 0o644)
    chmod = os.chmod

    def refuse_b(path, mode, *args, **kw):
        if path == b:
            raise PermissionError(1, "Operation not permitted", path)
        return chmod(path, mode, *args, **kw)

    monkeypatch.setattr(os, "chmod", refuse_b)
    with pytest.raises(PermissionError):
        export.write_atomically({a: b"one", b: b"two", c: b"new"}, 0o600)
    assert open(c, "rb").read() == b"old"
    assert [oct(os.stat(p).st_mode & 0o777) for p in (a, b, c)] == ["0o644"] * 3
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.json", "c.csv"]


def test_a_failed_write_leaves_every_old_file_and_no_temp_file(tmp_path):
    a = str(tmp_path / "a.csv")
    export.write_atomically({a: b"old"})
    missing_dir = str(tmp_path / "missing" / "b.json")  # the second file cannot be written
    with pytest.raises(FileNotFoundError):
        export.write_atomically({a: b"new", missing_dir: b"x"})
    assert open(a, "rb").read() == b"old"
    assert os.listdir(tmp_path) == ["a.csv"]


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    target = str(tmp_path / "cmdb.csv")
    for name in (".cmdb.csv.abc123.tmp", ".cmdb.csv.zz.tmp", ".cmdb.json.q.tmp", "cmdb.csv", "other.tmp"):
        (tmp_path / name).write_text("x")
    assert sorted(export.remove_leftovers(target)) == [".cmdb.csv.abc123.tmp", ".cmdb.csv.zz.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".cmdb.json.q.tmp", "cmdb.csv", "other.tmp"]


def test_one_export_per_directory_at_a_time(tmp_path):
    with export.export_lock(str(tmp_path), "cmdb"):
        with pytest.raises(export.ExportBusy, match="another export"):
            with export.export_lock(str(tmp_path), "cmdb"):
                pass
        with export.export_lock(str(tmp_path), "other"):  # another name is another export
            pass
    with export.export_lock(str(tmp_path), "cmdb"):  # released
        pass


def test_previous_count_reads_the_head_of_the_last_export(tmp_path):
    path = tmp_path / "cmdb.json"
    assert export.previous_count(str(path)) is None
    doc = export.build_export([host(iid=f"i-{n}") for n in range(3)], errors=[], scanned_at="t")
    path.write_bytes(export.render_json(doc))
    assert export.previous_count(str(path)) == 3
    path.write_text("not json")
    assert export.previous_count(str(path)) is None


@pytest.mark.parametrize(
    "previous, new, limit, refused",
    [
        (100, 40, 50, True),
        (100, 50, 50, False),
        (100, 0, 99.5, True),
        (100, 0, None, False),  # no guard
        (None, 0, 10, False),  # first export
        (0, 0, 10, False),
        (100, 150, 0, False),  # growth is fine
    ],
)
def test_shrink_problem(previous, new, limit, refused):
    problem = export.shrink_problem(previous, new, limit)
    assert (problem is not None) is refused
    if refused:
        assert f"from {previous} to {new}" in problem and "previous export is left as it was" in problem
