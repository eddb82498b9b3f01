# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CMDB export: pure functions from host variables to rows, CSV and JSON, and the atomic write.

No Ansible import: the action plugin ``crossaccount.aws.cmdb_export`` reads the inventory and
hands plain host variables to ``build_export``; ``render_*`` produce the bytes and
``write_atomically`` replaces each file with a temporary file of the same directory and
``os.replace``, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
import tempfile
from typing import Any, Callable, Iterable, Iterator, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import (
    PREFIX_VARIABLE,
    SUFFIX_VARIABLE,
    affix,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import stale_for
from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain

FORMAT = 1

COLUMNS = (
    "account_id",
    "account_name",
    "region",
    "instance_id",
    "name",
    "state",
    "instance_type",
    "private_ip_address",
    "public_ip_address",
    "availability_zone",
    "vpc_id",
    "launch_time",
    "stale",
    "scanned_at",
)

ERROR_COLUMNS = (
    "account_id",
    "account_name",
    "region",
    "code",
    "message",
    "hint",
    "stale_hosts",
    "stale_since",
)

# Spreadsheet formula injection: a CSV cell (of either file) that a spreadsheet could read as a
# formula is prefixed with a single quote (the JSON keeps every value as it is). Spreadsheets skip
# leading blanks before a formula, and some read the full-width forms of = + - @ as formulas.
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_TAG_COLUMN_RE = re.compile(r"[^\x00-\x1f]{1,128}")
# A lone surrogate code point is not text and has no UTF-8 form. No AWS text holds one, but an
# answer in JSON (AWS Organizations' account names, an error message) can: a proxy's "\ud800".
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str.__str__(str(value))


def _state(value: Any) -> str:
    if isinstance(value, Mapping):
        return _text(value.get("name"))
    return _text(value)


def is_plugin_host(hostvars: Mapping[str, Any]) -> bool:
    """True for the hosts the crossaccount.aws.ec2 inventory made (not localhost or other sources),
    read from the plugin's own variables, which hostvars_prefix / hostvars_suffix never rename."""
    return "account_id" in hostvars and "crossaccount_scanned_at" in hostvars


def _instance_variable(hostvars: Mapping[str, Any]) -> Callable[[str], Any]:
    """``get(name)`` of an instance variable under the name the host's source published it:
    hostvars_prefix / hostvars_suffix (the source publishes them on the host) applied."""
    prefix = hostvars.get(PREFIX_VARIABLE)
    suffix = hostvars.get(SUFFIX_VARIABLE)
    prefix = prefix if isinstance(prefix, str) else None
    suffix = suffix if isinstance(suffix, str) else None
    if not prefix and not suffix:
        return hostvars.get
    return lambda name: hostvars.get(affix(prefix, suffix, name))


def is_export_host(hostvars: Mapping[str, Any]) -> bool:
    """True for the hosts of the crossaccount.aws.ec2 inventory that give a row: the plugin's
    hosts with an instance id (whatever its hostvars_prefix / hostvars_suffix)."""
    return is_plugin_host(hostvars) and _instance_variable(hostvars)("instance_id") is not None


def instance_row(hostvars: Mapping[str, Any], tag_columns: Iterable[str] = ()) -> dict[str, Any]:
    """One export row (plain values) from one host's variables."""
    get = _instance_variable(hostvars)
    tags = get("ec2_tags") or {}
    if not isinstance(tags, Mapping):
        tags = {}
    placement = get("placement")
    row: dict[str, Any] = {
        "account_id": _text(hostvars.get("account_id")),
        "account_name": _text(hostvars.get("account_name")),
        "region": _text(hostvars.get("region")),
        "instance_id": _text(get("instance_id")),
        "name": _text(tags.get("Name")),
        "state": _state(get("state")),
        "instance_type": _text(get("instance_type")),
        "private_ip_address": _text(get("private_ip_address")),
        "public_ip_address": _text(get("public_ip_address")),
        "availability_zone": _text(placement.get("availability_zone")) if isinstance(placement, Mapping) else "",
        "vpc_id": _text(get("vpc_id")),
        "launch_time": _text(get("launch_time")),
        "stale": bool(hostvars.get("crossaccount_stale")),
        "scanned_at": _text(hostvars.get("crossaccount_scanned_at")),
    }
    for key in tag_columns:
        row["tag_" + key] = _text(tags.get(key))
    row["tags"] = plain(dict(tags))
    return row


def sort_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (row["account_id"], row["region"], row["instance_id"])


def _error_entries(errors: Iterable[Mapping[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each failure with the number of hosts kept stale for it, and the age of that data."""
    stale_rows = [(r["account_id"], r["region"], r["scanned_at"], 1) for r in rows if r["stale"]]
    out = []
    for error in errors:
        region = error.get("region")
        kept = stale_for({"account_id": _text(error.get("account_id")), "region": region}, stale_rows)
        out.append(
            {
                "account_id": _text(error.get("account_id")),
                "account_name": _text(error.get("account_name")),
                "region": _text(region) if region is not None else "",
                "code": _text(error.get("code")),
                "message": _text(error.get("message")),
                "hint": _text(error.get("hint")),
                "stale_hosts": kept.hosts if kept else 0,
                "stale_since": kept.since if kept else "",
            }
        )
    out.sort(key=lambda e: (e["account_id"], e["region"], e["code"]))
    return out


def build_export(
    hosts: Iterable[Mapping[str, Any]],
    *,
    errors: Iterable[Mapping[str, Any]] | None,
    scanned_at: Any,
    tag_columns: Iterable[str] = (),
) -> dict[str, Any]:
    """The whole export as one plain document: sorted instance rows, failures, counts."""
    tag_columns = tuple(tag_columns)
    rows = sorted((instance_row(h, tag_columns) for h in hosts if is_export_host(h)), key=sort_key)
    error_entries = _error_entries(errors or (), rows)
    stale = sum(1 for r in rows if r["stale"])
    return {
        "format": FORMAT,
        "scanned_at": _text(scanned_at),
        "complete": not error_entries,
        "counts": {
            "instances": len(rows),
            "stale_instances": stale,
            "accounts": len({r["account_id"] for r in rows}),
            "errors": len(error_entries),
        },
        "columns": list(COLUMNS) + ["tag_" + k for k in tag_columns],
        "errors": error_entries,
        "instances": rows,
    }


def check_tag_columns(value: Any) -> list[str]:
    """Validate the ``tag_columns`` option: a list of tag keys. Raises ValueError with the fix."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError("tag_columns: expected a list of tag keys; write e.g. tag_columns: [Environment, Owner]")
    out = []
    for i, key in enumerate(value):
        if not isinstance(key, str) or not _TAG_COLUMN_RE.fullmatch(key):  # "$" passes a final "\n"
            raise ValueError(f"tag_columns[{i}]: {key!r} is not a tag key; write a tag key such as Environment")
        out.append(key)
    return out


def previous_count(json_path: str) -> int | None:
    """``counts.instances`` of the export at ``json_path``, or None when there is none (or unreadable)."""
    try:
        with open(json_path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    match = re.search(r'"counts":\s*\{[^}]*"instances":\s*(\d+)', head)
    return int(match.group(1)) if match else None


def shrink_problem(previous: int | None, new: int, max_drop_percent: float | None) -> str | None:
    """Why the new export must not replace the previous one, or None.

    ``max_drop_percent`` guards the CMDB against an export that lost a large part of the estate
    for a reason nobody reported (an emptied account list, a wrong filter)."""
    if max_drop_percent is None or not previous:
        return None
    drop = (previous - new) * 100.0 / previous
    if drop > max_drop_percent:
        return (
            f"the export would shrink from {previous} to {new} instance(s) ({drop:.0f}% fewer, more than "
            f"cmdb_export_max_drop_percent={max_drop_percent:g}); the previous export is left as it was. "
            "If the drop is real, run once with a higher cmdb_export_max_drop_percent"
        )
    return None


def unread_problem(plugin_hosts: int, document: Mapping[str, Any]) -> str | None:
    """Why ``document`` must not be written at all, or None: the inventory holds ``plugin_hosts``
    hosts made by crossaccount.aws.ec2 but fewer rows came out of them (their instance variables
    are not where the export reads them). Written, such an export would replace a good one with an
    empty or partial one that reads as complete."""
    rows = document["counts"]["instances"]
    if rows >= plugin_hosts:
        return None
    return (
        f"the inventory holds {plugin_hosts} host(s) made by crossaccount.aws.ec2 but only {rows} of them could "
        "be read as instances (no instance_id under the names their source published, "
        f"{PREFIX_VARIABLE} / {SUFFIX_VARIABLE} applied); refusing to write an export that would miss "
        f"{plugin_hosts - rows} instance(s); the previous export is left as it was"
    )


def unscanned_problem(document: Mapping[str, Any]) -> str | None:
    """Why ``document`` must not be written at all, or None: it holds no freshly scanned instance
    while accounts or regions failed (every account failed, or nothing that did not fail had an
    instance, or every row is stale data of an earlier scan). Such an export says nothing about
    the estate now; written, it would replace a good export with an empty or stale one."""
    counts = document["counts"]
    fresh = counts["instances"] - counts["stale_instances"]
    if fresh > 0 or (not counts["errors"] and not counts["instances"]):
        return None
    errors = document["errors"]
    shown = "; ".join(f"{e['account_id']}{' ' + e['region'] if e['region'] else ''}: {e['code']}" for e in errors[:10])
    more = f" and {len(errors) - 10} more" if len(errors) > 10 else ""
    stale = f" ({counts['stale_instances']} stale instance(s) kept from earlier scans)" if counts["instances"] else ""
    return (
        f"nothing was scanned successfully: {len(errors)} account(s)/region(s) failed and the export would hold "
        f"no freshly scanned instance{stale}; the previous export is left as it was. Failures: {shown}{more}"
        if errors
        else f"every one of the {counts['instances']} instance(s) is stale and no failure is listed; "
        "the previous export is left as it was"
    )


# ---------------------------------------------------------------------------------------------
# rendering


def neutralise_formula(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs as a formula: one that starts with ``=``, ``+``,
    ``-``, ``@``, a tab, CR or LF (or their full-width forms), after any leading blanks, gets a
    leading single quote. Used for every text cell of cmdb.csv and cmdb-errors.csv alike: tags,
    Organizations account names and AWS error messages are all written by someone else."""
    if not text:
        return text
    if text[0] in _FORMULA_START:
        return "'" + text
    stripped = text.lstrip()
    while stripped and stripped[0] in _INVISIBLE:
        stripped = stripped[1:].lstrip()
    if stripped != text and stripped and stripped[0] in _FORMULA_START:
        return "'" + text
    return text


def _csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    return neutralise_formula(_text(value))


def _render(columns: list[str] | tuple[str, ...], rows: Any) -> bytes:
    """CSV of ``rows`` (mappings) under ``columns``: header row first, \r\n line ends, UTF-8, every
    cell through the formula guard."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return _utf8(buf.getvalue())


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, each lone surrogate written as U+FFFD (the replacement character): one
    such value must not make the whole export fail."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def render_csv(document: Mapping[str, Any]) -> bytes:
    """The instances as CSV, in document order."""
    return _render(document["columns"], document["instances"])


def render_errors_csv(document: Mapping[str, Any]) -> bytes:
    """The failed accounts/regions (with the hosts kept stale for them) as CSV."""
    return _render(ERROR_COLUMNS, document["errors"])


def render_json(document: Mapping[str, Any]) -> bytes:
    """The document as JSON, one instance per line (json's C encoder: 10,000 rows in a blink)."""
    lines = ["{"]
    for key, value in document.items():
        if key != "instances":
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in document.get("instances", ()))
    lines.append(' "instances": [' + ("\n" + rows + "\n ]" if rows else "]"))
    lines.append("}")
    return _utf8("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# writing


def temp_prefix(path: str) -> str:
    """Temporary files of ``path`` are ``.<file name>.<random>.tmp`` in the same directory."""
    return "." + os.path.basename(path) + "."


def remove_leftovers(path: str) -> list[str]:
    """Remove temporary files an earlier, killed run of this export left next to ``path``.

    Call it only while holding the export lock (two exports into one directory never run at once)."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = temp_prefix(path)
    removed = []
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry.endswith(".tmp"):
            try:
                os.unlink(os.path.join(directory, entry))
                removed.append(entry)
            except FileNotFoundError:
                pass
    return removed


class ExportBusy(Exception):
    """Another export into the same directory holds the lock."""


@contextlib.contextmanager
def export_lock(directory: str, name: str) -> Iterator[None]:
    """An exclusive, non-blocking lock (``.<name>.lock`` in ``directory``) held for one export."""
    path = os.path.join(directory, f".{name}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportBusy(f"another export into {directory} is running (it holds {path})") from None
        yield
    finally:
        os.close(fd)


def _same_content(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(data) + 1) == data
    except FileNotFoundError:
        return False


def _write_temp(path: str, data: bytes, mode: int) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            view = memoryview(data)
            step = 1 << 20
            for start in range(0, len(view), step):
                fh.write(view[start : start + step])
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(directory: str) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _apply_modes(paths: Iterable[str], mode: int) -> list[str]:
    """chmod each of ``paths`` to ``mode`` where it differs; the paths that changed. When one
    chmod fails (a file another user owns), those done are set back before the error is raised."""
    done: list[tuple[str, int]] = []
    try:
        for path in paths:
            current = os.stat(path).st_mode & 0o7777
            if current != mode:
                os.chmod(path, mode)
                done.append((path, current))
    except BaseException:
        for path, current in done:
            with contextlib.suppress(OSError):
                os.chmod(path, current)
        raise
    return [path for path, _current in done]


def write_atomically(files: Mapping[str, bytes], mode: int = 0o644) -> list[str]:
    """Replace each file of ``files`` (path -> bytes) atomically; returns the paths that changed.

    Every new file is first written in full to a temporary file beside its target and fsynced;
    only when all are written are they renamed over the targets with ``os.replace``, one after
    the other. On any error before the renames every temporary file is removed and every
    target is left as it was. Files that already hold exactly the new bytes are not rewritten,
    but get ``mode`` all the same (and count as changed when their mode did not match), before
    any rename: a chmod that fails leaves every target as it was too."""
    todo = {path: data for path, data in files.items() if not _same_content(path, data)}
    temps: dict[str, str] = {}
    try:
        for path, data in todo.items():
            temps[path] = _write_temp(path, data, mode)
        chmodded = _apply_modes([path for path in files if path not in todo], mode)
    except BaseException:
        for tmp in temps.values():
            _unlink(tmp)
        raise
    for path, tmp in temps.items():
        os.replace(tmp, path)
    for directory in {os.path.dirname(os.path.abspath(p)) for p in temps}:
        _fsync_dir(directory)
    return list(temps) + chmodded
