# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostnames: the ``hostnames`` grammar of amazon.aws.aws_ec2, and a safe, stable choice of names.

Pure functions, no AWS call and no Ansible import (unit tested directly).

* ``parse_hostnames`` checks the option once, at configuration time: every form aws_ec2
  documents (``tag:K``, ``tag:K=V``, ``tag:K1=V1,K2``, every DescribeInstances filter name
  aws_ec2 maps to an attribute, the dict form ``name``/``prefix``/``separator``) is accepted,
  anything else is refused with one line naming the entry and the fix.
* ``wanted_name`` gives the name aws_ec2 would give one instance.
* ``choose_hostnames`` gives every instance one inventory hostname that is safe (never a group,
  never starting like a default group, never ``localhost`` or another implicit name, never
  another instance's id, never another host's name, never a string that changes the meaning of
  a host pattern) and stable (among
  instances that want the same name the longest-running keeps it; newcomers get
  ``NAME_<instance id>``). Refused values fall back to the instance id.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from ansible_collections.crossaccount.aws.plugins.module_utils import validation
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError, bounded

# ---------------------------------------------------------------------------------------------
# aws_ec2's filter-name sources (amazon.aws 10.x, plugins/inventory/aws_ec2.py
# instance_data_filter_to_boto_attr and instance_meta_filter_to_boto_attr), as paths into the
# snake_case host record. The meta ones come from the reservation (owner_id, requester_id,
# reservation_id are host variables here too).

_CAMEL_PATHS: dict[str, tuple[str, ...]] = {
    "group-id": ("Groups", "GroupId"),
    "group-name": ("Groups", "GroupName"),
    "network-interface.attachment.instance-owner-id": ("OwnerId",),
    "owner-id": ("OwnerId",),
    "requester-id": ("RequesterId",),
    "reservation-id": ("ReservationId",),
    "affinity": ("Placement", "Affinity"),
    "architecture": ("Architecture",),
    "availability-zone": ("Placement", "AvailabilityZone"),
    "block-device-mapping.attach-time": ("BlockDeviceMappings", "Ebs", "AttachTime"),
    "block-device-mapping.delete-on-termination": ("BlockDeviceMappings", "Ebs", "DeleteOnTermination"),
    "block-device-mapping.device-name": ("BlockDeviceMappings", "DeviceName"),
    "block-device-mapping.status": ("BlockDeviceMappings", "Ebs", "Status"),
    "block-device-mapping.volume-id": ("BlockDeviceMappings", "Ebs", "VolumeId"),
    "client-token": ("ClientToken",),
    "dns-name": ("PublicDnsName",),
    "host-id": ("Placement", "HostId"),
    "hypervisor": ("Hypervisor",),
    "iam-instance-profile.arn": ("IamInstanceProfile", "Arn"),
    "image-id": ("ImageId",),
    "instance-id": ("InstanceId",),
    "instance-lifecycle": ("InstanceLifecycle",),
    "instance-state-code": ("State", "Code"),
    "instance-state-name": ("State", "Name"),
    "instance-type": ("InstanceType",),
    "instance.group-id": ("SecurityGroups", "GroupId"),
    "instance.group-name": ("SecurityGroups", "GroupName"),
    "ip-address": ("PublicIpAddress",),
    "kernel-id": ("KernelId",),
    "key-name": ("KeyName",),
    "launch-index": ("AmiLaunchIndex",),
    "launch-time": ("LaunchTime",),
    "monitoring-state": ("Monitoring", "State"),
    "network-interface.addresses.private-ip-address": ("NetworkInterfaces", "PrivateIpAddress"),
    "network-interface.addresses.primary": ("NetworkInterfaces", "PrivateIpAddresses", "Primary"),
    "network-interface.addresses.association.public-ip": (
        "NetworkInterfaces",
        "PrivateIpAddresses",
        "Association",
        "PublicIp",
    ),
    "network-interface.addresses.association.ip-owner-id": (
        "NetworkInterfaces",
        "PrivateIpAddresses",
        "Association",
        "IpOwnerId",
    ),
    "network-interface.association.public-ip": ("NetworkInterfaces", "Association", "PublicIp"),
    "network-interface.association.ip-owner-id": ("NetworkInterfaces", "Association", "IpOwnerId"),
    "network-interface.association.allocation-id": ("ElasticGpuAssociations", "ElasticGpuId"),
    "network-interface.association.association-id": ("ElasticGpuAssociations", "ElasticGpuAssociationId"),
    "network-interface.attachment.attachment-id": ("NetworkInterfaces", "Attachment", "AttachmentId"),
    "network-interface.attachment.instance-id": ("InstanceId",),
    "network-interface.attachment.device-index": ("NetworkInterfaces", "Attachment", "DeviceIndex"),
    "network-interface.attachment.status": ("NetworkInterfaces", "Attachment", "Status"),
    "network-interface.attachment.attach-time": ("NetworkInterfaces", "Attachment", "AttachTime"),
    "network-interface.attachment.delete-on-termination": ("NetworkInterfaces", "Attachment", "DeleteOnTermination"),
    "network-interface.availability-zone": ("Placement", "AvailabilityZone"),
    "network-interface.description": ("NetworkInterfaces", "Description"),
    "network-interface.group-id": ("NetworkInterfaces", "Groups", "GroupId"),
    "network-interface.group-name": ("NetworkInterfaces", "Groups", "GroupName"),
    "network-interface.ipv6-addresses.ipv6-address": ("NetworkInterfaces", "Ipv6Addresses", "Ipv6Address"),
    "network-interface.mac-address": ("NetworkInterfaces", "MacAddress"),
    "network-interface.network-interface-id": ("NetworkInterfaces", "NetworkInterfaceId"),
    "network-interface.owner-id": ("NetworkInterfaces", "OwnerId"),
    "network-interface.private-dns-name": ("NetworkInterfaces", "PrivateDnsName"),
    "network-interface.requester-managed": ("NetworkInterfaces", "Association", "IpOwnerId"),
    "network-interface.status": ("NetworkInterfaces", "Status"),
    "network-interface.source-dest-check": ("NetworkInterfaces", "SourceDestCheck"),
    "network-interface.subnet-id": ("NetworkInterfaces", "SubnetId"),
    "network-interface.vpc-id": ("NetworkInterfaces", "VpcId"),
    "placement-group-name": ("Placement", "GroupName"),
    "platform": ("Platform",),
    "private-dns-name": ("PrivateDnsName",),
    "private-ip-address": ("PrivateIpAddress",),
    "product-code": ("ProductCodes", "ProductCodeId"),
    "product-code.type": ("ProductCodes", "ProductCodeType"),
    "ramdisk-id": ("RamdiskId",),
    "reason": ("StateTransitionReason",),
    "root-device-name": ("RootDeviceName",),
    "root-device-type": ("RootDeviceType",),
    "source-dest-check": ("SourceDestCheck",),
    "spot-instance-request-id": ("SpotInstanceRequestId",),
    "state-reason-code": ("StateReason", "Code"),
    "state-reason-message": ("StateReason", "Message"),
    "subnet-id": ("SubnetId",),
    "tenancy": ("Placement", "Tenancy"),
    "virtualization-type": ("VirtualizationType",),
    "vpc-id": ("VpcId",),
}

# aws_ec2 also maps these three to the whole tag list: the hostname would be the Python text of
# a tag dict. Refused, with tag:KEY as the fix.
_TAG_LIST_SOURCES = ("tag", "tag-key", "tag-value")

_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z]+)")


def _snake(name: str) -> str:
    # the key names above have no plural abbreviations: the two steps of camel_dict_to_snake_dict
    # that matter (hosts.snake is the full version; a unit test checks they agree on these keys)
    return _ALL_CAP.sub(r"\1_\2", _FIRST_CAP.sub(r"\1_\2", name)).lower()


#: filter name -> path of snake_case keys into the host record
ATTRIBUTE_SOURCES: dict[str, tuple[str, ...]] = {
    name: tuple(_snake(part) for part in path) for name, path in _CAMEL_PATHS.items()
}

SAFE_NAME_HINT = "letters, digits, '.', '_' and '-' (starting with a letter, digit or '_'), at most 255 characters"


# ---------------------------------------------------------------------------------------------
# the grammar


@dataclass(frozen=True)
class Source:
    """One hostname source: ``tag`` (``tag:`` spec), ``attribute`` (filter name) or ``literal``
    (the dict form only)."""

    kind: str
    text: str
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value or None) in the written order
    path: tuple[str, ...] = ()

    @property
    def from_tags(self) -> bool:
        return self.kind == "tag"

    @property
    def chosen_by_users(self) -> bool:
        """A tag, or an attribute whose text whoever launches instances in that account writes
        (a key pair, security group or placement group name, an interface description, a client
        token): its names are contested like a tag's (never an IP address, never starting like a
        keyed group, yielding to names AWS gives)."""
        return self.kind == "tag" or (self.kind == "attribute" and self.text in CHOSEN_BY_USERS)


# filter-name sources whose text the account's users write (CreateKeyPair, CreateSecurityGroup,
# CreatePlacementGroup, an interface's description, RunInstances' ClientToken)
CHOSEN_BY_USERS = frozenset(
    (
        "key-name",
        "group-name",
        "instance.group-name",
        "network-interface.group-name",
        "network-interface.description",
        "placement-group-name",
        "client-token",
    )
)


@dataclass(frozen=True)
class Preference:
    """One entry of ``hostnames``: a source, or aws_ec2's dict form (prefix + separator + name)."""

    name: Source
    prefix: Source | None = None
    separator: str = "_"

    @property
    def written(self) -> str:
        if self.prefix is None:
            return self.name.text
        return f"{{name: {self.name.text}, prefix: {self.prefix.text}, separator: {self.separator!r}}}"

    @property
    def from_tags(self) -> bool:
        return self.name.from_tags or (self.prefix is not None and self.prefix.from_tags)

    @property
    def is_instance_id(self) -> bool:
        return self.prefix is None and self.name.kind == "attribute" and self.name.path == ("instance_id",)


DEFAULT = (Preference(Source("attribute", "instance-id", path=("instance_id",))),)
DICT_KEYS = ("name", "prefix", "separator")
_EXAMPLE = "write e.g. hostnames: [tag:Name, instance-id]"


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number"}.get(
        type(value), type(value).__name__
    )


def _fix_for(text: str) -> str:
    close = difflib.get_close_matches(text, list(ATTRIBUTE_SOURCES) + ["tag:Name"], n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return hint + (
        "use tag:KEY, tag:KEY=VALUE, a filter name (dns-name, private-ip-address, ...); "
        "a literal name only in the dict form {name: ..., prefix: ...}"
    )


def _parse_source(text: Any, key: str, *, literal_ok: bool) -> Source:
    if not isinstance(text, str):
        raise ConfigError(key, f"expected a string, got {_type_name(text)}", _EXAMPLE)
    if "|" in text or validation.is_template(text):
        raise ConfigError(
            key,
            f"{text!r} has a Jinja2 filter or template; hostnames are never templated here "
            "(aws_ec2 renders the tag value inside a template, so a tag could run code on the controller)",
            "name hosts by a plain source and shape values with compose (e.g. ansible_host) or keyed_groups",
        )
    if text.startswith("tag:"):
        spec = text[4:]
        items = []
        for item in spec.split(","):
            tag_key, sep, value = item.partition("=")
            if not tag_key.strip():
                raise ConfigError(
                    key,
                    f"{text!r} has an empty tag key",
                    "write tag:KEY, tag:KEY=VALUE or tag:K1=V1,K2 (no empty items)",
                )
            items.append((tag_key, value if sep else None))
        return Source("tag", text, tags=tuple(items))
    if text in ATTRIBUTE_SOURCES:
        return Source("attribute", text, path=ATTRIBUTE_SOURCES[text])
    if text in _TAG_LIST_SOURCES:
        raise ConfigError(
            key,
            f"{text!r} names the whole tag list (aws_ec2 would use the text of a Python dict as the hostname)",
            "write tag:KEY for the value of one tag, or tag:KEY=VALUE",
        )
    if literal_ok and text and not difflib.get_close_matches(text, list(ATTRIBUTE_SOURCES), n=1, cutoff=0.8):
        return Source("literal", text)
    if literal_ok:
        raise ConfigError(key, f"{text!r} looks like a misspelt source, not a literal name", _fix_for(text))
    raise ConfigError(key, f"unknown hostname source {text!r}", _fix_for(text))


def parse_hostnames(value: Any) -> tuple[Preference, ...]:
    """The ``hostnames`` option, checked. Unset or empty (aws_ec2 reads ``[]`` as its default
    list too): the instance id."""
    if value is None or (isinstance(value, list) and not value):
        return DEFAULT
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError("hostnames", f"expected a list, got {_type_name(value)}", _EXAMPLE)
    out = []
    for i, item in enumerate(value):
        key = f"hostnames[{i}]"
        if isinstance(item, dict):
            unknown = sorted(str(k) for k in item if k not in DICT_KEYS)
            if unknown:
                raise ConfigError(
                    f"{key}.{unknown[0]}", "unknown key of the dict form", "use only name, prefix and separator"
                )
            if "name" not in item:
                raise ConfigError(
                    key, "the dict form needs a name", "write {name: private-ip-address, prefix: tag:Name}"
                )
            name = _parse_source(item["name"], f"{key}.name", literal_ok=True)
            prefix = None
            if item.get("prefix") not in (None, ""):
                prefix = _parse_source(item["prefix"], f"{key}.prefix", literal_ok=True)
            separator = item.get("separator", "_")
            if separator is None:
                separator = "_"
            if not isinstance(separator, str):
                raise ConfigError(
                    f"{key}.separator",
                    f"expected a string, got {_type_name(separator)}",
                    "quote it, e.g. separator: '-'",
                )
            _refuse_default_group_start(name, prefix, separator, key)
            out.append(Preference(name, prefix, separator))
        else:
            source = _parse_source(item, key, literal_ok=False)
            _refuse_default_group_start(source, None, "_", key)
            out.append(Preference(source))
    return tuple(out)


def _refuse_default_group_start(name: Source, prefix: Source | None, separator: str, key: str) -> None:
    """An entry whose every name would start like a default group (a literal prefix such as
    ``name`` with ``_``, a literal name, or ``tag:name=V``, which gives ``name_V``) would refuse
    every host it names: refused once, here, instead of one warning per host."""
    starts = []
    if prefix is not None and prefix.kind == "literal":
        starts.append((f"{key}.prefix", prefix.text + separator))
    elif prefix is None and name.kind == "literal":
        starts.append((f"{key}.name", name.text))
    first = prefix if prefix is not None else name
    if first.kind == "tag":
        for tag_key, expected in first.tags:
            if expected is not None:
                starts.append((key, f"{tag_key}_{expected}"))
    for where, start in starts:
        if start.startswith(DEFAULT_GROUP_PREFIXES):
            raise ConfigError(
                where,
                f"every name it gives starts with {start[: start.index('_') + 1]!r}, as the default groups do "
                "(account_, region_, name_), so every host would be refused and named by its instance id",
                "use another prefix or tag key, e.g. {name: tag:Name, prefix: host}",
            )


def attributes_read(preferences: Iterable[Preference]) -> tuple[str, ...]:
    """Top-level host variables the preferences read (the lean ``attributes`` list must keep them);
    ``launch_time`` and ``network_interfaces`` as well when names can collide (they decide who keeps
    a name: first_launch)."""
    out: list[str] = []
    for pref in preferences:
        for source in (pref.name, pref.prefix):
            if source is not None and source.kind == "attribute" and source.path != ("instance_id",):
                out.append(source.path[0])
    if any(not p.is_instance_id for p in preferences):
        out.extend(("launch_time", "network_interfaces"))
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# one instance


def _compile_values(obj: Any, attr: str) -> Any:
    """aws_ec2's _compile_values: follow one key through lists, unwrapping one-element lists."""
    if obj is None:
        return None
    if isinstance(obj, (list, tuple)):
        temp: Any = []
        for each in obj:
            value = _compile_values(each, attr)
            if value:
                temp.append(value)
    elif isinstance(obj, Mapping):
        temp = obj.get(attr)
    else:
        return None
    if isinstance(temp, (list, tuple)) and len(temp) == 1:
        return temp[0]
    return temp


def _text(value: Any) -> str | None:
    """aws_ec2 keeps the first of several values, skips empty ones and uses the text of the rest."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if not value:
        return None
    return value if isinstance(value, str) else str(value)


def source_value(record: Mapping[str, Any], source: Source) -> str | None:
    if source.kind == "literal":
        return source.text
    if source.kind == "tag":
        tags = record.get("ec2_tags") or {}
        for tag_key, expected in source.tags:
            if expected is None:
                found = tags.get(tag_key)
                if found:
                    return found if isinstance(found, str) else str(found)
            elif tags.get(tag_key) == expected:
                return f"{tag_key}_{expected}"
        return None
    value: Any = record
    for part in source.path:
        value = _compile_values(value, part)
    text = _text(value)
    if text and source.text in _TIME_SOURCES:
        return _boto3_time_text(text)
    return text


# Sources whose value is a timestamp. The record holds AWS's text (2026-01-02T03:04:05.000Z);
# aws_ec2 names the host by the text of boto3's datetime (2026-01-02 03:04:05+00:00), which then
# loses its ':' like any such name.
_TIME_SOURCES = frozenset(
    ("launch-time", "block-device-mapping.attach-time", "network-interface.attachment.attach-time")
)


def _boto3_time_text(text: str) -> str:
    """``str()`` of the datetime boto3 would have parsed from AWS's timestamp ``text``."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text
    return str(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))


# ansible-core's C.INVALID_VARIABLE_NAMES: aws_ec2 passes a name holding ':' through
# _sanitize_group_name (to_safe_group_name), which replaces these characters by '_'
_INVALID_VARIABLE_CHARS = re.compile(r"^[\d\W]|[^\w]")


def preference_value(record: Mapping[str, Any], pref: Preference) -> str | None:
    """The name aws_ec2 gives from one preference (preference_named without the origin)."""
    return preference_named(record, pref)[0]


def preference_named(record: Mapping[str, Any], pref: Preference) -> tuple[str | None, bool]:
    """The name aws_ec2 gives from one preference, and whether a tag (or an attribute the
    account's users write, Source.chosen_by_users) went into it (the name's source, or such a
    prefix that this instance has: without it aws_ec2 gives the bare name, e.g. the private IP
    address, which AWS gave). A name from AWS attributes holding ':'
    (IPv6 and MAC addresses, ARNs, times) is sanitised as aws_ec2 does; one a tag went into is
    left as it is, so that the safety check refuses it rather than let a tag craft a pattern.
    In the dict form aws_ec2 sanitises the name and the prefix each on its own first (a MAC
    address after a prefix: ``aws-_2_00_...``), then the whole."""
    name = _part(record, pref.name)
    tagged, from_tag = pref.name.chosen_by_users, pref.name.from_tags
    if name and pref.prefix is not None:
        prefix = _part(record, pref.prefix)
        if prefix:
            name = prefix + pref.separator + name
            tagged = tagged or pref.prefix.chosen_by_users
            from_tag = from_tag or pref.prefix.from_tags
    if name and ":" in name and not from_tag:
        name = _INVALID_VARIABLE_CHARS.sub("_", name)
    return name, tagged


def _part(record: Mapping[str, Any], source: Source) -> str | None:
    """One source's value, sanitised as aws_ec2 sanitises a name holding ':' unless a tag gave it."""
    value = source_value(record, source)
    if value and ":" in value and not source.from_tags:
        value = _INVALID_VARIABLE_CHARS.sub("_", value)
    return value


def wanted_name(record: Mapping[str, Any], preferences: Sequence[Preference]) -> tuple[str, int | None]:
    """The name aws_ec2 would give (its first source with a value), and the index of that source;
    the instance id (index None) when none has a value."""
    for i, pref in enumerate(preferences):
        value = preference_value(record, pref)
        if value:
            return value, i
    return str(record["instance_id"]), None


# ---------------------------------------------------------------------------------------------
# safety

#: names ansible-core treats as the controller (C.LOCALHOST) and the usual aliases of it
IMPLICIT_LOCALHOST = ("localhost", "127.0.0.1", "::1")
# and, as RFC 6761 reserves them, every name under localhost (resolvers such as systemd's
# nss-myhostname and resolved answer loopback for web.localhost); each with or without the root's '.'
_LOCAL_NAMES = re.compile(r"localhost[0-9]*(\..*)?|ip6-(localhost|loopback)\.?|.+\.localhost\.?", re.I)
INSTANCE_ID_RE = re.compile(r"(?<![0-9A-Za-z])i-[0-9a-f]{8,17}(?![0-9A-Za-z])", re.I)
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")
RESERVED_GROUPS = ("all", "ungrouped")
# the prefixes of this plugin's default group names (hosts.default_groups): account_<id>,
# region_<region with _>, name_<Name>. No host name starts with one, whether or not the group is
# made (the default_groups option), in this source or another, whatever accounts, regions and
# Names exist; a prefix, not the exact forms, so that a glob such as --limit 'region_us_*' or
# 'account_1*' (ansible-core matches globs against host names too) never reaches a tagged host.
DEFAULT_GROUP_PREFIXES = ("account_", "region_", "name_")


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


# inet_aton's spellings of an IPv4 address besides a.b.c.d: one to four parts, each decimal, octal
# (leading 0) or hex (0x); the last part fills the bytes left ("127.1", "2130706433", "0x7f000001").
# ipaddress does not read them, the C resolver (getaddrinfo, ssh, ping) does.
_AT_PART = r"(?:0[xX][0-9a-fA-F]*|[0-9]+)"
_INET_ATON = re.compile(rf"{_AT_PART}(?:\.{_AT_PART}){{0,3}}\.?")


def _shorthand_ipv4(value: str) -> ipaddress.IPv4Address | None:
    """The address a resolver reads from ``value`` written in one of inet_aton's short forms
    (None: no such form, or out of range, which a resolver looks up as a name)."""
    if not _INET_ATON.fullmatch(value):
        return None
    try:
        parts = [
            int(p, 16) if p[:2] in ("0x", "0X") else int(p, 8) if p[:1] == "0" and len(p) > 1 else int(p)
            for p in value.rstrip(".").split(".")
        ]
    except ValueError:  # "0x" alone, or 8 and 9 in an octal part
        return None
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for p in head:
        number = number * 256 + p
    return ipaddress.IPv4Address(number * 256 ** (4 - len(head)) + last)


def unsafe_reason(value: str, own_id: str | None = None) -> str | None:
    """Why ``value`` cannot be an inventory hostname on its own (None: it can).

    Checked: the characters (anything that changes what a host pattern means: ':', ',', '&',
    '!', '[', '*', '~', '@', spaces, control characters, ...), implicit and reserved localhost
    names and loopback or unspecified addresses, the prefixes of the default group names, and ids
    of other instances."""
    ip = _ip(value) if "%" not in value else None
    if ip is not None:
        if ip.is_loopback or ip.is_unspecified or str(ip) in IMPLICIT_LOCALHOST or value in IMPLICIT_LOCALHOST:
            return "a name of the controller (localhost)"
        if isinstance(ip, ipaddress.IPv6Address) and value != str(ip):
            return "not a safe inventory name (write IPv6 addresses in their compressed form)"
        return None
    if not _SAFE_NAME.fullmatch(value):
        return f"not a safe inventory name (only {SAFE_NAME_HINT})"
    short = _shorthand_ipv4(value)
    if short is not None:
        if short.is_loopback or short.is_unspecified:
            return f"a name of the controller (localhost): resolvers read it as {short}"
        return f"an IPv4 address in short form (resolvers read it as {short}); only AWS gives addresses"
    if value.lower() in IMPLICIT_LOCALHOST or _LOCAL_NAMES.fullmatch(value):
        return "a name of the controller (localhost)"
    if value.lower() in RESERVED_GROUPS:
        return "the name of a built-in group"
    if value.startswith(DEFAULT_GROUP_PREFIXES):
        return "starts like a default group name (account_, region_, name_)"
    for found in INSTANCE_ID_RE.findall(value):
        if found.lower() != (own_id or "").lower():
            return f"the id of another instance ({found})"
    return None


def unsafe_group_reason(name: str) -> str | None:
    """Why a group this source would create must not exist whatever hosts there are (it would
    capture a host pattern): a name of the controller, or an instance id (the name hosts fall
    back to)."""
    ip = _ip(name)
    if (
        name.lower() in IMPLICIT_LOCALHOST
        or _LOCAL_NAMES.fullmatch(name)
        or (ip is not None and (ip.is_loopback or ip.is_unspecified))
        or ((short := _shorthand_ipv4(name)) is not None and (short.is_loopback or short.is_unspecified))
    ):
        return "a name of the controller (localhost)"
    if INSTANCE_ID_RE.fullmatch(name):
        return "an instance id"
    return None


# ---------------------------------------------------------------------------------------------
# every instance


def shown(value: str) -> str:
    """A refused name in a message: its repr, bounded (a proxy's tag is not held to 256 characters)."""
    return bounded(repr(value), 200)


@dataclass
class Refusal:
    instance_id: str
    account_id: str
    value: str
    reason: str
    name: str = ""  # the name the host got instead

    def line(self) -> str:
        return (
            f"instance {self.instance_id} of account {self.account_id}: hostname {shown(self.value)} refused "
            f"({self.reason}); the host is named {self.name or self.instance_id}"
        )


@dataclass(frozen=True)
class Rival:
    """A host an earlier source of this plugin named in the same contest (choose_hostnames):
    whether its name came from tags, when it was first launched (first_launch) and its instance id."""

    tagged: bool
    launched: Any
    instance_id: str

    def order(self) -> tuple[bool, datetime, str]:
        return (self.tagged, launch_order(self.launched), self.instance_id)


@dataclass
class Naming:
    names: list[str]
    refusals: list[Refusal] = field(default_factory=list)
    collisions: dict[str, list[str]] = field(default_factory=dict)  # name -> instance ids suffixed
    unmatched: list[tuple[int, str]] = field(default_factory=list)  # (index, written) of sources matching none
    # (index, written) of dict-form prefix sources that have a value for no instance (the names
    # were given without the prefix, aws_ec2's rule for an instance that lacks it)
    unmatched_prefixes: list[tuple[int, str]] = field(default_factory=list)
    # (where, written source, item) of the items of a tag:K1=V1,K2 list that match no instance
    # (the other items named the hosts)
    unmatched_tag_items: list[tuple[str, str, str]] = field(default_factory=list)
    tagged: list[bool] = field(default_factory=list)  # whether each name came from tags
    won: dict[str, int] = field(default_factory=dict)  # a rival's name -> index of the record that takes it


_NEVER = datetime.max.replace(tzinfo=timezone.utc)


def first_launch(record: Mapping[str, Any]) -> datetime:
    """When the instance was first launched, as an aware datetime (unknown: last). ``launch_time``
    is when it was last started (AWS sets it again at every start after a stop); the primary
    network interface (device index 0) keeps the attach time of the launch, as botocore's
    documentation of LaunchTime says. The earlier of the two, so a stop and start never makes an
    instance younger than one launched after it."""
    first = launch_order(record.get("launch_time"))
    interfaces = record.get("network_interfaces")
    for interface in interfaces if isinstance(interfaces, list) else ():
        attachment = interface.get("attachment") if isinstance(interface, Mapping) else None
        if isinstance(attachment, Mapping) and attachment.get("device_index") == 0:
            first = min(first, launch_order(attachment.get("attach_time")))
    return first


def launch_order(value: Any) -> datetime:
    """``launch_time`` as an aware datetime (a datetime from a scan, a string from the cache);
    unknown ones sort last."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return _NEVER
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return _NEVER


def choose_hostnames(
    records: Sequence[Mapping[str, Any]],
    preferences: Sequence[Preference],
    *,
    groups: Collection[str] = (),
    hosts: Collection[str] = (),
    same_instance: Callable[[str, Mapping[str, Any]], bool] | None = None,
    tag_starts: Collection[str] = (),
    rivals: Mapping[str, Rival] | None = None,
) -> Naming:
    """One unique, safe inventory hostname per record, in the order of ``records``.

    ``groups``: every group name the inventory has or this source will create; ``hosts``: the
    hosts other sources already added (``same_instance(name, record)`` says whether that host is
    this very instance, added by another source: then the name is shared, as Ansible merges it).

    A wanted name that is unsafe (``unsafe_reason``), a group, or another host's name is refused:
    the instance is named by its id, with a ``Refusal``. A name from tags also yields to the same
    name given by AWS attributes (an IP address, a DNS name) to another instance, and a tag value
    that is an IP address is refused. Among instances that want the same name, the longest-running
    (earliest launch_time, then instance id) keeps it and the others become ``NAME_<instance id>``:
    a name never moves to an instance launched later.

    ``tag_starts``: a name from tags starting with one of these (the prefix and separator of a
    ``keyed_groups`` entry) is refused, whether or not that group has members this run.
    ``rivals``: hosts of ``hosts`` that earlier sources of this plugin named by the same rules;
    their names are contested as if they were in ``records`` (so the order of the sources never
    decides who keeps a name), and a name taken from one is in ``Naming.won``, for the caller
    to rename that host.
    """
    preferences = tuple(preferences)
    tag_starts = tuple(s for s in tag_starts if s)
    rivals = rivals or {}
    groups = set(groups) | set(RESERVED_GROUPS)
    n = len(records)
    names: list[str | None] = [None] * n
    naming = Naming(names=[])
    matched = [False] * len(preferences)
    prefix_matched = [p.prefix is None or p.prefix.kind == "literal" for p in preferences]
    # the items of each tag list (tag:K1=V1,K2) of a name or a prefix, until each matched once
    items_left = {
        (f"hostnames[{i}]" + (".prefix" if source is p.prefix else ""), source): set(source.tags)
        for i, p in enumerate(preferences)
        for source in (p.name, p.prefix)
        if source is not None and source.kind == "tag" and len(source.tags) > 1
    }
    wanted: list[tuple[str, bool]] = []  # (value, whether a tag went into it)
    for record in records:
        first: tuple[str, bool] | None = None
        for i, pref in enumerate(preferences):
            value, tagged = preference_named(record, pref)
            if value:
                matched[i] = True
                if first is None:
                    first = (value, tagged)
            if not prefix_matched[i] and pref.prefix is not None and _part(record, pref.prefix):
                prefix_matched[i] = True
        if items_left:
            tags = record.get("ec2_tags") or {}
            for left in items_left.values():
                left.difference_update([(k, v) for k, v in left if (tags.get(k) if v is None else tags.get(k) == v)])
        wanted.append(first if first is not None else (str(record["instance_id"]), False))
    if n:
        naming.unmatched = [(i, p.written) for i, p in enumerate(preferences) if not matched[i]]
        naming.unmatched_prefixes = [
            (i, p.prefix.text) for i, p in enumerate(preferences) if not prefix_matched[i] and p.prefix is not None
        ]
        for (where, source), left in items_left.items():
            if len(left) == len(set(source.tags)):
                continue  # no item matched: the whole entry (or prefix) is reported above
            for key, value in source.tags:  # in the written order
                if (key, value) in left:
                    naming.unmatched_tag_items.append((where, source.text, key if value is None else f"{key}={value}"))

    refused: dict[int, Refusal] = {}

    def refuse(i: int, value: str, reason: str) -> None:
        record = records[i]
        refused[i] = Refusal(str(record["instance_id"]), str(record.get("account_id", "")), value, reason)

    def other_host(name: str, i: int, contest: bool = True) -> bool:
        if name not in hosts or (same_instance is not None and same_instance(name, records[i])):
            return False
        return not (contest and name in rivals)

    def why_refused(name: str, i: int, tagged: bool) -> str | None:
        reason = unsafe_reason(name, str(records[i]["instance_id"]))
        if reason is None and tagged and _ip(name) is not None:
            reason = "an IP address; only AWS gives those (ip-address, private-ip-address sources)"
        if reason is None and tagged and name.startswith(tag_starts):
            start = next(s for s in tag_starts if name.startswith(s))
            reason = f"starts like a keyed group ({start}...), made this run or not"
        if reason is None and name in groups:
            reason = "the name of a group"
        if reason is None and other_host(name, i):
            reason = "the name of a host of another inventory source"
        return reason

    candidates: dict[str, list[int]] = {}
    for i, (value, tagged) in enumerate(wanted):
        reason = why_refused(value, i, tagged)
        if reason is not None:
            refuse(i, value, reason)
        else:
            candidates.setdefault(value, []).append(i)

    suffixed: list[int] = []

    def order(i: int) -> tuple[bool, datetime, str]:
        """Who keeps a name: names AWS gives first, then tag-derived ones; each in launch order
        (as Rival.order, for a host of an earlier source)."""
        return (wanted[i][1], first_launch(records[i]), str(records[i]["instance_id"]))

    def lose(i: int, name: str, keeper_tagged: bool) -> None:
        """``i`` does not get ``name``: refused when its name is tag-given and the keeper's is
        one AWS gives, else named NAME_<instance id>."""
        if wanted[i][1] and not keeper_tagged:
            refuse(i, name, "the name another instance gets from AWS")
            return
        names[i] = f"{name}_{records[i]['instance_id']}"
        naming.collisions.setdefault(name, []).append(str(records[i]["instance_id"]))
        suffixed.append(i)

    for name, holders in candidates.items():
        holders.sort(key=order)
        rival = rivals.get(name) if name in hosts else None
        itself = [i for i in holders if name in hosts and same_instance and same_instance(name, records[i])]
        if itself:  # that host is this very instance (overlapping sources): it keeps its name
            holders.remove(itself[0])
            holders.insert(0, itself[0])
        elif rival is not None:
            if order(holders[0]) >= rival.order():  # the earlier source's host keeps it
                for i in holders:
                    lose(i, name, rival.tagged)
                continue
            naming.won[name] = holders[0]
        keeper = holders[0]
        names[keeper] = name
        for i in holders[1:]:
            lose(i, name, wanted[keeper][1])
    for i in suffixed:  # NAME_<own id> is unique here; still never unsafe, a group or another source's host
        name = names[i]
        reason = None
        if name is not None:
            reason = why_refused(name, i, False) or (
                "the name of a host of another inventory source" if other_host(name, i, False) else None
            )
        if reason is not None:
            refuse(i, name, reason)
    for i, refusal in refused.items():
        iid = str(records[i]["instance_id"])
        name = iid
        if iid in groups or other_host(iid, i, False):
            name = f"{iid}_{records[i].get('account_id', '')}"
        names[i] = name
        refusal.name = name
        if refusal.value != iid or name != iid:
            naming.refusals.append(refusal)
    naming.names = [str(name) for name in names]
    naming.tagged = [wanted[i][1] and i not in refused for i in range(n)]
    for ids in naming.collisions.values():
        ids.sort()
    return naming
