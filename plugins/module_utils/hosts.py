# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host records: pure functions from DescribeInstances data to host variables and groups
(hostnames are chosen in hostnames.py).

No AWS call and no Ansible import here, so everything is unit tested directly.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Any, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.constants import DEFAULT_GROUP_KINDS
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import NotAnAwsResponse, bounded
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
            if keep is None or name in keep:
                if key in reservation:
                    record[name] = reservation[key]
                elif key == "RequesterId":  # amazon.aws.aws_ec2 always sets it, "" when AWS has none
                    record[name] = ""
    placement = record.get("placement")
    if isinstance(placement, dict):
        # as amazon.aws.aws_ec2 does, for grouping by placement.region (its keyed_groups example);
        # the scanned region, which is also right for Local and Wavelength Zones
        placement["region"] = region
    record["ec2_tags"] = tags_to_dict(instance.get("Tags"))
    record["account_id"] = account_id
    if account_name:
        record["account_name"] = account_name
    record["region"] = region
    for key in ("PrivateIpAddress", "PublicIpAddress"):
        _check_address(instance.get(key), key)
    host = instance.get("PrivateIpAddress") or instance.get("PublicIpAddress")
    if host:
        record["ansible_host"] = host
    _refuse_odd_values(record)
    return record


def _check_address(value: Any, key: str) -> None:
    """EC2 gives an instance's addresses as dotted IPv4 text, never a loopback or unspecified one:
    anything else (``127.0.0.1``, ``localhost``, ``web,db``) is a proxy's answer, and as the
    default ``ansible_host`` it would send the host's connections to the controller or elsewhere.
    That account-region fails instead."""
    if value is None or value == "":
        return
    try:
        address = ipaddress.IPv4Address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or address.is_loopback or address.is_unspecified:
        raise NotAnAwsResponse(
            "DescribeInstances", f"the answer gives {snake(key)} {bounded(repr(value), 60)}, not an instance's address"
        )


# what botocore's parsers give for EC2's scalar shapes (dates only with a timestamp parser that makes them)
_SCALARS = (str, int, float, bool, type(None), datetime.date)


def _refuse_odd_values(value: Any, path: str = "") -> None:
    """Host variables hold built-in values only. botocore hands a scalar element that an answer
    repeats (``<instanceType>a</instanceType><instanceType>b</instanceType>``) back as the list of
    its XML nodes: no AWS answer does that, a proxy's might. That account-region then fails,
    rather than objects reaching the inventory, the cache or the export."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotAnAwsResponse(
                    "DescribeInstances", f"the answer has a non-text key under {path or 'an instance'}"
                )
            _refuse_odd_values(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            _refuse_odd_values(item, path)
    elif not isinstance(value, _SCALARS):
        raise NotAnAwsResponse(
            "DescribeInstances", f"the answer has {type(value).__name__} where a value belongs ({path[:100]})"
        )


# ---------------------------------------------------------------------------------------------
# groups

_UNSAFE_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def safe_group_name(name: str) -> str:
    """Ansible group names: letters, digits and underscores only."""
    return _UNSAFE_GROUP_CHARS.sub("_", name)


def default_groups(record: Mapping[str, Any], kinds: Iterable[str] = DEFAULT_GROUP_KINDS) -> list[str]:
    """The default groups of ``record`` of the ``kinds`` asked for: ``account_<id>``,
    ``region_<region with _>`` and, for a host with a Name tag, ``name_<Name, sanitised>``."""
    groups = []
    if "account" in kinds:
        groups.append(f"account_{record['account_id']}")
    if "region" in kinds:
        groups.append("region_" + safe_group_name(record["region"]))
    if "name" in kinds:
        name = record.get("ec2_tags", {}).get("Name")
        if name:
            groups.append("name_" + safe_group_name(str(name)))
    return groups
