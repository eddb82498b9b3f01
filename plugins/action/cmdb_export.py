# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin crossaccount.aws.cmdb_export: write the CMDB export on the controller.

Runs entirely on the controller and reads the inventory's host variables straight from the
in-memory inventory: no module is shipped, no host variable is templated (EC2 data stays
untrusted text) and 10,000 hosts are not serialised into module arguments.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.crossaccount.aws.plugins.module_utils import export
from ansible_collections.crossaccount.aws.plugins.modules import cmdb_export as module_doc
from ansible_collections.crossaccount.aws.plugins.plugin_utils.argspec import argument_spec

# the options, their types and defaults: the module's DOCUMENTATION (what ansible-doc shows)
ARGS = argument_spec(module_doc.DOCUMENTATION)
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")

NOT_LOADED = (
    "the crossaccount.aws.ec2 inventory did not load (group all has no crossaccount_scanned_at): "
    "refusing to write an export that would read as 'every instance was deleted'. Read the inventory "
    "warnings above, and run with ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true so such a run fails early"
)

CANNOT_TELL = (
    "cannot tell which inventory sources loaded (this ansible-core does not keep them where "
    "crossaccount.aws.cmdb_export reads them): refusing to write an export that could miss whole sources; "
    "the previous export is left as it was"
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGS)
        name = args["name"]
        if not name or not set(name) <= NAME_CHARS or name.startswith("."):
            raise AnsibleActionFail(f"name: {name!r} is not a plain file name; write letters, digits, '_', '-', '.'")
        try:
            tag_columns = export.check_tag_columns(args["tag_columns"])
        except ValueError as exc:
            raise AnsibleActionFail(str(exc)) from None
        mode = _mode(args["mode"])
        dest = os.path.abspath(os.path.expanduser(args["dest"]))
        if not os.path.isdir(dest):
            raise AnsibleActionFail(f"dest: {dest} is not a directory; create it or point dest at one")

        inventory = _inventory(task_vars or {})
        all_vars = inventory.groups["all"].get_vars() if "all" in inventory.groups else {}
        if "crossaccount_scanned_at" not in all_vars:
            raise AnsibleActionFail(NOT_LOADED)
        problem = failed_sources_problem(task_vars or {}, inventory)
        if problem:
            raise AnsibleActionFail(problem)
        hosts = [host.vars for host in inventory.hosts.values()]
        document = export.build_export(
            hosts,
            errors=all_vars.get("crossaccount_errors") or [],
            scanned_at=all_vars.get("crossaccount_scanned_at"),
            tag_columns=tag_columns,
        )
        paths = {
            "csv": os.path.join(dest, f"{name}.csv"),
            "json": os.path.join(dest, f"{name}.json"),
            "errors_csv": os.path.join(dest, f"{name}-errors.csv"),
        }
        counts = document["counts"]
        result.update(
            {
                "paths": paths,
                "instances": counts["instances"],
                "stale_instances": counts["stale_instances"],
                "accounts": counts["accounts"],
                "scan_errors": document["errors"],
                "complete": document["complete"],
                "scanned_at": document["scanned_at"],
            }
        )
        plugin_hosts = sum(1 for hv in hosts if export.is_plugin_host(hv))
        problem = export.unread_problem(plugin_hosts, document) or export.unscanned_problem(document)
        if problem:
            # nothing written, the run fails: the previous export stays as the last good one
            result.update({"failed": True, "changed": False, "msg": problem})
            return result
        max_drop = args["max_drop_percent"]
        if max_drop is not None and not 0 <= max_drop <= 100:
            raise AnsibleActionFail(f"max_drop_percent: {max_drop:g} is out of range; write a number from 0 to 100")
        problem = export.shrink_problem(export.previous_count(paths["json"]), counts["instances"], max_drop)
        if problem:
            raise AnsibleActionFail(problem)
        if self._task.check_mode:
            result["changed"] = True
            return self._finish(result, args)
        # the errors first, the instances last: a reader that sees the new CSV also sees its errors
        files = {
            paths["errors_csv"]: export.render_errors_csv(document),
            paths["json"]: export.render_json(document),
            paths["csv"]: export.render_csv(document),
        }
        try:
            with export.export_lock(dest, name):
                export.remove_leftovers(paths["csv"])
                export.remove_leftovers(paths["json"])
                export.remove_leftovers(paths["errors_csv"])
                changed = export.write_atomically(files, mode)
        except export.ExportBusy as exc:
            raise AnsibleActionFail(str(exc)) from None
        except OSError as exc:
            raise AnsibleActionFail(
                f"could not write the export in {dest} ({exc.strerror or exc}); the previous export is left as it was"
            ) from None
        result["changed"] = bool(changed)
        return self._finish(result, args)

    def _finish(self, result, args):
        errors = result["scan_errors"]
        if errors:
            lines = [
                f"{e['account_id']}{' ' + e['region'] if e['region'] else ''}: {e['code']}"
                + (f" ({e['stale_hosts']} host(s) kept stale since {e['stale_since']})" if e["stale_hosts"] else "")
                for e in errors
            ]
            message = f"{len(errors)} account(s)/region(s) failed and are listed with the export: " + "; ".join(lines)
            if args["fail_on_errors"]:
                result["failed"] = True
                result["msg"] = message + " (fail_on_errors is on; the export was written)"
            else:
                result.setdefault("warnings", []).append(message)
        if not result.get("failed"):
            result["msg"] = (
                f"exported {result['instances']} instance(s) of {result['accounts']} account(s)"
                + (f", {result['stale_instances']} stale" if result["stale_instances"] else "")
                + (f", {len(errors)} failure(s) listed" if errors else "")
            )
        return result


def inventory_sources(inventory) -> list[str] | None:
    """The ``-i`` sources of this run (the configured default without ``-i``), or None when they
    cannot be read: the command line's (ansible.context.CLIARGS), else InventoryManager's
    ``_sources`` (guarded like processed_sources)."""
    from ansible import context

    sources = context.CLIARGS.get("inventory") if context.CLIARGS else None
    if sources is None:
        sources = getattr(inventory, "_sources", None)
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
        return None
    return list(sources)


def processed_sources(inventory) -> list[str] | None:
    """The inventory sources ansible-core parsed successfully, or None when that cannot be read.

    ansible-core has no public interface for it: InventoryManager keeps its InventoryData in
    ``_inventory``, whose ``processed_sources`` lists each source (each file of a directory source)
    that a plugin parsed without raising. tests/unit/plugins/test_cmdb_export_sources.py fails
    loudly when ansible-core changes that shape; here a change reads as None (the export refuses)."""
    data = getattr(inventory, "_inventory", None)
    found = getattr(data, "processed_sources", None)
    if not isinstance(found, list) or not all(isinstance(s, str) for s in found):
        return None
    return found


def _source_files(source: str) -> list[str]:
    """The files ansible-core tries for one ``-i`` source (a directory: its entries, recursively,
    as InventoryManager.parse_source walks it); none for a host list."""
    from ansible.utils.path import unfrackpath

    if not source or "," in source:
        return []
    path = unfrackpath(source, follow=False)
    if not os.path.isdir(path):
        return [path]
    try:
        from ansible.inventory.manager import IGNORED
    except ImportError:  # pragma: no cover - an ansible-core without it: skip hidden entries only
        IGNORED = None  # noqa: N806
    out = []
    for entry in sorted(os.listdir(path)):
        ignored = IGNORED.search(entry.encode()) if IGNORED is not None else entry.startswith(".")
        if not ignored:
            out.extend(_source_files(os.path.join(path, entry)))
    return out


def _ours(path: str, plugin) -> bool:
    """A source this plugin would parse (its verify_file), or a missing file named like one."""
    if not os.path.exists(path):
        return path.endswith(("ec2.yml", "ec2.yaml"))
    try:
        return bool(plugin.verify_file(path))
    except Exception:  # noqa: BLE001 - ansible-core treats a raising verify_file as "not mine"
        return False


def failed_sources_problem(task_vars, inventory) -> str | None:
    """Why the export must not be written, or None: an inventory source of crossaccount.aws.ec2
    failed to load (ansible-core only warns and goes on with the other sources), so the export
    would miss its accounts with no failure listed for them and read as complete."""
    from ansible.plugins.loader import inventory_loader

    sources = inventory_sources(inventory)
    if sources is None:
        return CANNOT_TELL
    plugin = inventory_loader.get("crossaccount.aws.ec2")
    ours = [f for s in sources if isinstance(s, str) for f in _source_files(s) if _ours(f, plugin)]
    if not ours:
        return None
    parsed = processed_sources(inventory)
    if parsed is None:
        return CANNOT_TELL
    done = {os.path.normpath(s) for s in parsed}
    failed = [f for f in ours if os.path.normpath(f) not in done]
    if not failed:
        return None
    shown = ", ".join(failed[:10]) + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
    return (
        f"{len(failed)} inventory source(s) of crossaccount.aws.ec2 failed to load ({shown}): the export would "
        "miss their accounts with no failure listed for them; refusing to write, the previous export is left as "
        "it was. Read the inventory warnings above, fix the source, and run with "
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true so such a run fails before any task"
    )


def _inventory(task_vars):
    """The in-memory inventory (ansible-core's InventoryManager) behind ``hostvars``."""
    hostvars = task_vars.get("hostvars")
    inventory = getattr(hostvars, "_inventory", None)
    if inventory is None or not hasattr(inventory, "hosts") or not hasattr(inventory, "groups"):
        raise AnsibleActionFail(
            "cannot reach the inventory from this task; run crossaccount.aws.cmdb_export as a task of a play "
            "(the crossaccount.aws.cmdb_export playbook does)"
        )
    return inventory


def _mode(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise AnsibleActionFail(f"mode: {value!r} is not an octal file mode; write it quoted: '0640'") from None
    if not 0 <= mode <= 0o777:
        raise AnsibleActionFail(f"mode: {value!r} is out of range; write e.g. '0640'")
    return mode
