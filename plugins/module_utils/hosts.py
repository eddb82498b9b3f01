# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host records: pure functions from DescribeInstances data to hostnames, host variables and groups.

No AWS call and no Ansible import here, so everything is unit tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.constants import HOSTNAME_SOURCES
from ansible_collections.crossaccount.aws.plugins.module_utils.values import snake, snake_value

# Always kept, whatever ``attributes`` says.
ALWAYS_KEPT = ("instance_id", "account_id", "account_name", "region", "ec2_tags", "ansible_host")


def tags_to_dict(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in (tags or ()) if "Key" in t}


def instance_record(
    instance: Mapping[str, Any],
    *,
    reservation: Mapping[str, Any] | None,
    account_id: str,
    account_name: str | None,
    region: str,
    attributes: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Host variables of one instance: every attribute in snake_case (or only ``attributes``),
    plus ``ec2_tags``, ``account_id``, ``account_name``, ``region`` and ``ansible_host``."""
    keep = None if attributes is None else frozenset(attributes)
    record: dict[str, Any] = {}
    for key, value in instance.items():
        if key == "Tags":
            continue
        name = snake(key)
        if keep is None or name in keep or name == "instance_id":
            record[name] = snake_value(value)
    if reservation is not None:
        for key in ("OwnerId", "RequesterId", "ReservationId"):
            name = snake(key)
            if key in reservation and (keep is None or name in keep):
                record[name] = reservation[key]
    record["ec2_tags"] = tags_to_dict(instance.get("Tags"))
    record["account_id"] = account_id
    if account_name:
        record["account_name"] = account_name
    record["region"] = region
    host = instance.get("PrivateIpAddress") or instance.get("PublicIpAddress")
    if host:
        record["ansible_host"] = host
    return record


# ---------------------------------------------------------------------------------------------
# hostnames


def preferred_hostname(record: Mapping[str, Any], preferences: Iterable[str]) -> str:
    for pref in preferences:
        if pref.startswith("tag:"):
            value = record.get("ec2_tags", {}).get(pref[4:])
        else:
            value = record.get(HOSTNAME_SOURCES[pref])
        if value:
            return str(value)
    return str(record["instance_id"])


@dataclass
class HostnameReport:
    """Names that several instances wanted, and what each instance got instead."""

    collisions: dict[str, list[str]] = field(default_factory=dict)  # name -> instance ids renamed


def assign_hostnames(records: list[Mapping[str, Any]], preferences: Iterable[str]) -> tuple[list[str], HostnameReport]:
    """One unique inventory hostname per record, in the order of ``records``.

    Records are taken in a stable order (account, region, instance id): the first holder of a
    name keeps it, the next ones become ``NAME_<instance id>``. Never merges two instances.
    """
    preferences = tuple(preferences)
    order = sorted(
        range(len(records)), key=lambda i: (records[i]["account_id"], records[i]["region"], records[i]["instance_id"])
    )
    names: list[str | None] = [None] * len(records)
    taken: set[str] = set()
    report = HostnameReport()
    wanted = {i: preferred_hostname(records[i], preferences) for i in order}
    for i in order:
        name = wanted[i]
        if name in taken:
            iid = str(records[i]["instance_id"])
            report.collisions.setdefault(name, []).append(iid)
            candidate = f"{name}_{iid}"
            n = 2
            while candidate in taken:  # only if a tag value already looks like NAME_i-...
                candidate = f"{name}_{iid}_{n}"
                n += 1
            name = candidate
        taken.add(name)
        names[i] = name
    return [n for n in names if n is not None], report


# ---------------------------------------------------------------------------------------------
# groups

_UNSAFE_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def safe_group_name(name: str) -> str:
    """Ansible group names: letters, digits and underscores only."""
    return _UNSAFE_GROUP_CHARS.sub("_", name)


def default_groups(record: Mapping[str, Any]) -> list[str]:
    groups = [f"account_{record['account_id']}", "region_" + safe_group_name(record["region"])]
    name = record.get("ec2_tags", {}).get("Name")
    if name:
        groups.append("name_" + safe_group_name(str(name)))
    return groups
