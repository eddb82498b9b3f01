# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory configuration: the checks ansible-core cannot make, and typed settings by stage.

The plugin's DOCUMENTATION is the one source of every option's type, default and choices, and
ansible-core's option machinery applies them. This module adds what core cannot check, as a
pre-pass over the raw YAML (``check_config``): secret keys, unknown keys with spelling hints, the
type of every option with a one-line message naming the key and the fix (driven by the option
definitions core holds), quoted account ids, filter values, ranges and cross-field rules. Then
``build_settings`` turns the values core resolved (defaults applied) into settings grouped by the
stage that uses them: ``accounts``, ``client``, ``scan`` and ``output``. They are computed once
and never rewritten.

Adding an option: one DOCUMENTATION entry; if core's type and choices are not enough, one check
function in ``OPTION_CHECKS`` (and a field of the stage that reads it in ``build_settings``).

Pure functions: no AWS call, no Ansible import. Every problem raises ``ConfigError``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils import aws_ec2_compat, partitions, validation
from ansible_collections.crossaccount.aws.plugins.module_utils import hostnames as hostnames_grammar
from ansible_collections.crossaccount.aws.plugins.module_utils.constants import DEFAULT_GROUP_KINDS
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError, key_oddity, unknown_key

# AWS's own character sets, ASCII only and matched whole (validation.py): no Unicode digits,
# no look-alike letters, no trailing newline.
DEFAULT_STATES = aws_ec2_compat.DEFAULT_STATES  # every state but terminated and shutting-down
ACCOUNT_ID_RE = validation.ACCOUNT_ID
ROLE_ARN_RE = validation.ROLE_ARN
ROLE_NAME_RE = validation.ROLE_NAME
SESSION_NAME_RE = validation.SESSION_NAME
EXTERNAL_ID_RE = validation.EXTERNAL_ID
REGION_RE = validation.REGION
SHARD_RE = validation.SHARD

ACCOUNT_KEYS = ("id", "name", "role_name", "role_arn", "external_id", "regions")
ORGANIZATION_KEYS = ("role_arn", "external_id", "include_ous", "exclude_ous", "exclude_accounts")
# instance-state-name when the filters do not name it: every state but terminated and shutting-down
# Ranges of the whole-number options (core checks the type, not the range).
RANGES = {
    "max_workers": (1, 256),
    "scan_processes": (0, 64),
    "max_attempts": (1, 20),
    "duration_seconds": (900, 43200),
    "connect_timeout": (1, 600),
    "read_timeout": (1, 3600),
    # seconds; 0: never expires (ansible-core's cache plugins); up to ten years. A negative timeout
    # expires every entry at once: stale-if-error would never have data to fall back on.
    "cache_timeout": (0, 315_360_000),
}


@dataclass(frozen=True)
class Account:
    """One account to scan, fully resolved."""

    id: str
    role_arn: str
    name: str | None = None
    external_id: str | None = None
    regions: tuple[str, ...] | None = None  # None: the global setting applies
    source: str = "accounts"

    @property
    def partition(self) -> str:
        return self.role_arn.split(":", 2)[1]


@dataclass(frozen=True)
class OrganizationSettings:
    role_arn: str | None = None
    external_id: str | None = None
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountSettings:
    """Which accounts to scan and with which role: read by accounts.py and organizations.py."""

    explicit: tuple[Account, ...]  # ``accounts`` merged over ``accounts_file``
    organization: OrganizationSettings | None
    role_name: str | None
    external_id: str | None
    partition: str
    shard: tuple[int, int] | None

    def role_arn_for(self, account_id: str, role_name: str | None = None) -> str | None:
        name = role_name or self.role_name
        if not name:
            return None
        return f"arn:{self.partition}:iam::{account_id}:role/{name}"


@dataclass(frozen=True)
class ClientSettings:
    """How AWS is called: the keyword arguments of ``credentials.AwsContext``."""

    profile: str | None
    sts_region: str | None
    retry_mode: str
    max_attempts: int
    max_pool_connections: int
    connect_timeout: int
    read_timeout: int
    duration_seconds: int
    role_session_name: str


@dataclass(frozen=True)
class ScanSettings:
    """What each (account, region) task lists: read by scanner.py."""

    regions: tuple[str, ...]
    exclude_regions: tuple[str, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    # the attributes kept (those the hostnames read included), None: every attribute
    attributes: tuple[str, ...] | None
    max_workers: int
    processes: int = 0  # scan_processes: 0 automatic (processes.py)
    ssm_discovery: bool = False  # the ssm option's discovery (ssm.py), set by the inventory plugin
    # aws_ec2's include_filters / exclude_filters (aws_ec2_compat): more queries per account-region
    include_filters: tuple = ()
    exclude_filters: tuple = ()
    filters_given: bool = True  # whether `filters` is queried beside include_filters

    def describe_filters(self) -> list[dict[str, Any]]:
        """Filters in the shape DescribeInstances wants."""
        return [{"Name": name, "Values": list(values)} for name, values in self.filters]

    def instance_queries(self) -> list[list[dict[str, Any]]]:
        """Every DescribeInstances query of one account-region (their results are united)."""
        return aws_ec2_compat.instance_queries(self.filters, self.include_filters, self.filters_given)

    def exclusion_queries(self) -> list[list[dict[str, Any]]]:
        """Queries whose instances are removed (exclude_filters)."""
        return aws_ec2_compat.exclusion_queries(self.exclude_filters)

    def query_fingerprint(self) -> Any:
        """What selects the listed instances and shapes their records, for the cache fingerprint.
        "records-2": records carry placement.region and requester_id since 1.1.0, so a snapshot
        cached by 1.0.0 is not served as if it had them."""
        return ["records-2", self.filters, self.filters_given, self.include_filters, self.exclude_filters]


@dataclass(frozen=True)
class OutputSettings:
    """How the snapshot becomes an inventory: read by the inventory plugin."""

    hostnames: tuple[hostnames_grammar.Preference, ...]
    strict_errors: bool
    # default_groups: the kinds of default group made, in constants.DEFAULT_GROUP_KINDS order
    default_groups: tuple[str, ...]
    hostvars_prefix: str | None = None  # aws_ec2's hostvars_prefix / hostvars_suffix (aws_ec2_compat)
    hostvars_suffix: str | None = None
    default_groups_written: bool = False  # default_groups is in the file (not the documented default)


@dataclass(frozen=True)
class Settings:
    """The validated configuration, one group per stage of the data flow."""

    accounts: AccountSettings
    client: ClientSettings
    scan: ScanSettings
    output: OutputSettings
    ssm: Any = None  # ssm.SsmSettings: the ssm option (issue 12), set by the inventory plugin

    def scope(self) -> str:
        """What a run scans. Ansible's cache key is only the file path, so a snapshot cached before
        the accounts, regions or shard of the file changed must not be served."""
        return repr((self.accounts, self.scan.regions, self.scan.exclude_regions))

    def discovery_identity(self, environ: Mapping[str, str]) -> tuple[str, str | None] | None:
        """Who lists the accounts of AWS Organizations discovery, for the cache fingerprint: a
        snapshot made by another identity is neither served nor used for stale data, since that
        identity may see another organization. ``organization.role_arn`` when set (its account
        decides the organization; the controller's profile only decides whether the AssumeRole
        works), else the controller's profile: ``profile``, else the AWS_DEFAULT_PROFILE or
        AWS_PROFILE of ``environ`` (botocore's order), else None (the default chain). Names only,
        never keys. None without ``organization``: an explicit account's role ARN names its
        account, so the profile decides whether its scan works, not which hosts it lists."""
        org = self.accounts.organization
        if org is None:
            return None
        if org.role_arn:
            return ("role_arn", org.role_arn.strip(" "))
        profile = self.client.profile or environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE") or None
        return ("profile", profile)


# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# small helpers


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


DOC_POINTER = "ansible-doc -t inventory crossaccount.aws.ec2 lists every option"


def check_unknown_keys(raw: Mapping[str, Any], known: Iterable[str], where: str = "") -> None:
    """Refuse keys that are not options; a close match is suggested (``acounts`` -> ``accounts``)."""
    known = list(known)
    for key in raw:
        if key not in known:
            aws_ec2_error = aws_ec2_compat.aws_ec2_hint(key) if not where else None
            if aws_ec2_error is not None:  # an aws_ec2 option: say where it went (AWS_EC2_OPTIONS)
                raise aws_ec2_error
            raise unknown_key(key, known, where, many=DOC_POINTER)


def _string(raw: Mapping[str, Any], key: str, *, where: str = "") -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, (int, float, bool)):
            raise ConfigError(where + key, *_misread_scalar(value, key))
        raise ConfigError(
            where + key, f"expected a string, got {_type_name(value)}", f"write {key} as a single quoted string"
        )
    return value


def _misread_scalar(value: Any, key: str) -> tuple[str, str]:
    """(problem, fix) for a number or boolean where a string belongs. YAML may have changed what was
    written (0123456 is the octal 42798, 12:30 is 750, 0x1F is 31, yes is true), so the value it read
    is never suggested back as the text to write: quoting "42798" would send another external id."""
    return (
        f"expected a string, got {_type_name(value)} ({value!r}), which may differ from what you wrote",
        f'write it in quotes exactly as you meant it, e.g. {key}: "..."',
    )


def _string_list(raw: Mapping[str, Any], key: str, *, where: str = "") -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        raise ConfigError(where + key, "expected a list, got a string", f"write it as a list, e.g. {key}: [{value}]")
    if not isinstance(value, list):
        raise ConfigError(
            where + key, f"expected a list, got {_type_name(value)}", f"write it as a YAML list under {key}"
        )
    out = []
    for i, item in enumerate(value):
        if isinstance(item, (int, float, bool)):
            raise ConfigError(f"{where}{key}[{i}]", *_misread_scalar(item, f"{key}[{i}]"))
        if not isinstance(item, str):
            fix = (
                "write a value there or remove the empty item" if item is None else "write a single quoted string there"
            )
            raise ConfigError(f"{where}{key}[{i}]", f"expected a string, got {_type_name(item)}", fix)
        out.append(item)
    return tuple(out)


def _check_int(value: Any, key: str, bounds: tuple[int, int] | None) -> None:
    if isinstance(value, str) and validation.WHOLE_NUMBER.fullmatch(value.strip(" ")):
        value = int(value)  # ASCII digits only: int() would also read "１６"
    fix = f"write a number from {bounds[0]} to {bounds[1]}" if bounds else "write a whole number"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected a whole number, got {_type_name(value)} ({value!r})", fix)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise ConfigError(key, f"{value} is out of range", fix)


def _check_bool(value: Any, key: str) -> None:
    if not isinstance(value, bool) and not (isinstance(value, str) and value.lower() in validation.BOOL_WORDS):
        raise ConfigError(key, f"expected true or false, got {value!r}", f"write {key}: true or {key}: false")


def parse_account_id(value: Any, key: str) -> str:
    """A 12-digit account id written as a string. Numbers are refused: YAML drops leading zeros
    and reads 0-prefixed digits as octal, so an unquoted id may name another account."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise ConfigError(
            key,
            f"account id {value!r} is an unquoted number (YAML drops leading zeros and reads "
            "0-prefixed ids as octal, which could name another account)",
            'write the 12-digit id in quotes, e.g. "012345678901"',
        )
    if not isinstance(value, str):
        raise ConfigError(
            key,
            f"expected an account id, got {_type_name(value)}",
            'write the 12-digit id in quotes, e.g. "012345678901"',
        )
    value = value.strip(" ")  # spaces around a quoted id are harmless; a newline or a Unicode space is not
    if not validation.is_account_id(value):
        shown = ascii(value) if len(value) <= 40 else ascii(value[:40]) + "..."
        raise ConfigError(
            key,
            f"{shown} is not a 12-digit AWS account id (ASCII digits 0-9 only, nothing around them)",
            'write exactly 12 digits in quotes, e.g. "012345678901"',
        )
    return value


def parse_role_arn(value: Any, key: str) -> tuple[str, str]:
    """(partition, account id) of a valid IAM role ARN."""
    parts = validation.role_arn_parts(value.strip(" ") if isinstance(value, str) else value)
    if parts is None:
        shown = ascii(value) if not isinstance(value, str) or len(value) <= 80 else ascii(value[:80]) + "..."
        fix = "write arn:aws:iam::<12-digit account id>:role/<role name>"
        raise ConfigError(key, f"{shown} is not an IAM role ARN", fix)
    return parts[0], parts[1]


def _check_role_name(value: str | None, key: str) -> None:
    if value is not None and not validation.is_role_name(value):
        raise ConfigError(
            key,
            f"{ascii(value[:80])} is not a valid IAM role name",
            "write the role name only (letters, digits and +=,.@_-), e.g. CMDBDiscovery",
        )


def _check_regions(regions: Iterable[str], key: str, known_regions: frozenset[str] | None) -> None:
    for i, region in enumerate(regions):
        valid = validation.is_region(region) and (not known_regions or region in known_regions)
        if not valid:
            hint = _suggest(region, known_regions or ())
            fix = (hint + " " if hint else "") + "write an AWS region code such as us-east-1 or eu-west-1"
            shown = f"'{region}'" if region.isascii() and region.isprintable() else ascii(region[:40])
            raise ConfigError(f"{key}[{i}]", f"unknown region {shown}", fix)


def _check_profile(value: str, key: str = "profile") -> None:
    """A profile name: not empty, one line (botocore would look up the profile '' and fail later)."""
    if not value.strip() or not value.isprintable():
        shown = "empty" if not value.strip() else ascii(value[:80])
        raise ConfigError(
            key,
            f"{shown} is not a profile name",
            "write a profile of the AWS config files (aws configure list-profiles), or remove profile "
            "to use the default credential chain",
        )


def _check_external_id(value: str | None, key: str) -> None:
    if value is not None and not validation.is_external_id(value):
        raise ConfigError(
            key,
            "external id must be 2-1224 characters of letters, digits and +=,.@:/-",
            "write the external id from the role's trust policy",
        )


# ---------------------------------------------------------------------------------------------
# accounts


def parse_accounts(
    entries: Any,
    *,
    key: str,
    default_role: str | None,
    default_external_id: str | None,
    partition: str,
    known_regions: frozenset[str] | None = None,
    source: str = "accounts",
) -> tuple[Account, ...]:
    """Parse a list of account entries (the ``accounts`` option or an ``accounts_file``)."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ConfigError(
            key,
            f"expected a list of accounts, got {_type_name(entries)}",
            'write one entry per line, e.g. - "111111111111"',
        )
    seen: dict[str, int] = {}
    out: list[Account] = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        account = _parse_account(entry, where, default_role, default_external_id, partition, known_regions, source)
        if account.id in seen:
            raise ConfigError(
                where,
                f"account {account.id} is listed twice (also {key}[{seen[account.id]}])",
                "keep one entry per account",
            )
        seen[account.id] = i
        out.append(account)
    return tuple(out)


def _parse_account(
    entry: Any,
    where: str,
    default_role: str | None,
    default_external_id: str | None,
    partition: str,
    known_regions: frozenset[str] | None,
    source: str,
) -> Account:
    if not isinstance(entry, Mapping):
        account_id = parse_account_id(entry, where)
        role_arn = f"arn:{partition}:iam::{account_id}:role/{default_role}" if default_role else None
        if role_arn is None:
            raise ConfigError(
                where,
                f"no role to assume in account {account_id}",
                "set role_name at the top level, or write the entry as {id: ..., role_name: ...}",
            )
        return Account(id=account_id, role_arn=role_arn, external_id=default_external_id, source=source)

    check_unknown_keys(entry, ACCOUNT_KEYS, where=where + ".")
    role_name = _string(entry, "role_name", where=where + ".")
    role_arn = _string(entry, "role_arn", where=where + ".")
    if role_name is not None and role_arn is not None:
        raise ConfigError(
            where,
            "both role_name and role_arn are set",
            "keep one: role_arn for a full ARN, role_name for a role in this account",
        )
    account_id = None
    if "id" in entry:
        account_id = parse_account_id(entry["id"], where + ".id")
    if role_arn is not None:
        arn_partition, arn_account = parse_role_arn(role_arn, where + ".role_arn")
        if account_id and account_id != arn_account:
            raise ConfigError(
                where,
                f"id {account_id} does not match the account in role_arn ({arn_account})",
                "fix one of them or drop id",
            )
        account_id = arn_account
        role_arn = role_arn.strip(" ")
    elif account_id is None:
        raise ConfigError(where, "no account id", 'add id: "123456789012" or role_arn: arn:aws:iam::...:role/NAME')
    else:
        _check_role_name(role_name, where + ".role_name")
        name = role_name or default_role
        if not name:
            raise ConfigError(
                where,
                f"no role to assume in account {account_id}",
                "set role_name on this account or at the top level, or give role_arn",
            )
        role_arn = f"arn:{partition}:iam::{account_id}:role/{name}"
    friendly = entry.get("name")
    if friendly is not None and (isinstance(friendly, bool) or not isinstance(friendly, (str, int))):
        raise ConfigError(where + ".name", f"expected a string, got {_type_name(friendly)}", "write a short name")
    external_id = _string(entry, "external_id", where=where + ".")
    _check_external_id(external_id, where + ".external_id")
    regions = None
    if "regions" in entry:
        regions = _string_list(entry, "regions", where=where + ".")
        _check_regions(regions, where + ".regions", known_regions)
    return Account(
        id=account_id,
        role_arn=role_arn,
        name=str(friendly) if friendly is not None else None,
        external_id=external_id if external_id is not None else default_external_id,
        regions=regions if regions else None,
        source=source,
    )


def merge_accounts(*sources: Iterable[Account]) -> tuple[Account, ...]:
    """Combine account sources, earlier sources taking precedence per field.

    Call as ``merge_accounts(explicit, from_file, from_organization)``: an explicit entry
    overrides the role, regions, external id and name discovered elsewhere, and an account
    found in several sources is scanned once.
    """
    merged: dict[str, Account] = {}
    for source in sources:
        for account in source:
            have = merged.get(account.id)
            if have is None:
                merged[account.id] = account
                continue
            merged[account.id] = Account(
                id=have.id,
                role_arn=have.role_arn,
                name=have.name if have.name is not None else account.name,
                external_id=have.external_id if have.external_id is not None else account.external_id,
                regions=have.regions if have.regions is not None else account.regions,
                source=have.source,
            )
    return tuple(sorted(merged.values(), key=lambda a: a.id))


# ---------------------------------------------------------------------------------------------
# sharding


def parse_shard(value: Any) -> tuple[int, int] | None:
    if value in (None, ""):
        return None
    m = SHARD_RE.fullmatch(str(value))
    if not m:
        raise ConfigError("shard", f"{value!r} is not of the form k/n", 'write e.g. shard: "1/4" (this is part 1 of 4)')
    k, n = int(m.group(1)), int(m.group(2))
    if not (1 <= n <= 10000 and 1 <= k <= n):
        raise ConfigError("shard", f"{value!r} is out of range", "write k/n with 1 <= k <= n <= 10000")
    return k, n


def shard_of(account_id: str, n: int) -> int:
    """The 1-based shard of an account: a stable hash, the same on every controller and run."""
    # utf-8: the same bytes as ASCII for every valid id, and no crash on one that slipped through
    digest = hashlib.sha256(str(account_id).encode("utf-8", "replace")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select_shard(accounts: Iterable[Account], shard: tuple[int, int] | None) -> tuple[Account, ...]:
    if shard is None:
        return tuple(accounts)
    k, n = shard
    return tuple(a for a in accounts if shard_of(a.id, n) == k)


# ---------------------------------------------------------------------------------------------
# the whole configuration


def parse_filters(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            "filters",
            f"expected a mapping, got {_type_name(value)}",
            'write filters as name: value pairs, e.g. filters: {"tag:Environment": prod}',
        )
    return aws_ec2_compat.with_default_state(aws_ec2_compat.filter_pairs(value, "filters"))


def parse_hostnames(value: Any) -> tuple[hostnames_grammar.Preference, ...]:
    """aws_ec2's hostnames grammar, checked (module_utils/hostnames.py)."""
    return hostnames_grammar.parse_hostnames(value)


def _hostnames_as_core_reads_them(value: Any) -> Any:
    """The ``hostnames`` of the file as ansible-core's list type will hand them to the plugin, for the
    pre-pass: one string is one entry when it holds no comma (core makes it a list of one). A string
    with a comma is split by core at each comma (so ``"tag:Name,Env"``, one entry in aws_ec2's
    grammar, would be read as two), and a mapping is refused by core in a message naming neither
    the key nor the fix: both are refused here in one line."""
    if isinstance(value, str) and "," in value:
        raise ConfigError(
            "hostnames",
            f"{ascii(value[:80])} is one string, which ansible-core splits at each comma",
            'write a YAML list: hostnames: [tag:Name, instance-id] for two entries, ["tag:Name,Env"] for one',
        )
    if isinstance(value, Mapping):
        raise ConfigError(
            "hostnames",
            "expected a list, got a mapping",
            "write the mapping as a list item, e.g. hostnames: [{name: private-ip-address, prefix: tag:Name}]",
        )
    return value


def parse_organization(value: Any, known: Iterable[str] = ORGANIZATION_KEYS) -> OrganizationSettings | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(
            "organization",
            f"expected a mapping, got {_type_name(value)}",
            "write organization: {} to list every account, or give role_arn/include_ous",
        )
    check_unknown_keys(value, known, where="organization.")
    role_arn = _string(value, "role_arn", where="organization.")
    if role_arn is not None and not role_arn.strip(" "):  # was read as no role: the controller's own credentials
        raise ConfigError(
            "organization.role_arn",
            "is empty",
            "write arn:aws:iam::<12-digit account id>:role/<role name> (a role that may list the accounts), "
            "or remove organization.role_arn to list them with the controller's own credentials",
        )
    if role_arn is not None:
        parse_role_arn(role_arn, "organization.role_arn")
    external_id = _string(value, "external_id", where="organization.")
    _check_external_id(external_id, "organization.external_id")
    if external_id is not None and role_arn is None:
        # sent only with the AssumeRole of organization.role_arn: without one it was ignored silently
        raise ConfigError(
            "organization.external_id",
            "is set without organization.role_arn, so no AssumeRole would send it",
            "add organization.role_arn (the role that needs it), or move it to the top-level external_id "
            "for the accounts' discovery roles",
        )
    ous = {}
    for key in ("include_ous", "exclude_ous"):
        ous[key] = _string_list(value, key, where="organization.")
        for i, ou in enumerate(ous[key]):
            if not validation.is_parent_id(ou):
                raise ConfigError(
                    f"organization.{key}[{i}]",
                    f"{ou!r} is not an OU or root id",
                    "write an id such as ou-ab12-cdefgh34 or r-ab12",
                )
    excluded = value.get("exclude_accounts")
    excluded = [] if excluded is None else excluded  # "", {} or false excluded nothing, silently
    if not isinstance(excluded, list):
        raise ConfigError(
            "organization.exclude_accounts",
            f"expected a list, got {_type_name(excluded)}",
            'write e.g. exclude_accounts: ["123456789012"], or remove it to exclude no account',
        )
    exclude_accounts = tuple(parse_account_id(v, f"organization.exclude_accounts[{i}]") for i, v in enumerate(excluded))
    return OrganizationSettings(
        role_arn=role_arn,
        external_id=external_id,
        include_ous=ous["include_ous"],
        exclude_ous=ous["exclude_ous"],
        exclude_accounts=exclude_accounts,
    )


def parse_attributes(value: Any, known_attributes: frozenset[str] | None) -> tuple[str, ...] | None:
    """The attribute names of a list (the generic check of ``check_config`` refuses other types)."""
    if value is None:
        return None
    for i, item in enumerate(value):
        if not isinstance(item, str) or (known_attributes and item not in known_attributes):
            hint = _suggest(str(item), known_attributes or ())
            raise ConfigError(
                f"attributes[{i}]",
                f"unknown instance attribute {item!r}",
                (hint + " " if hint else "") + "use snake_case DescribeInstances names, e.g. instance_type",
            )
    return tuple(value)


SECRET_KEYS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "access_key",
    "secret_key",
    "session_token",
    "aws_access_key",
    "aws_secret_key",
    "security_token",
    "secret_access_key",
)


_SECRET_KEY_RE = re.compile(r"(secret|session_?token|security_?token|access_?key|password)", re.IGNORECASE)


def _is_secret_key(key: Any) -> bool:
    name = str(key).lower().replace("-", "_")
    return name in SECRET_KEYS or bool(_SECRET_KEY_RE.search(name))


def _refuse_secret_keys(raw: Any, where: str) -> None:
    if not isinstance(raw, Mapping):
        return
    for key in raw:
        if _is_secret_key(key):
            raise ConfigError(
                f"{where}{key}",
                "secret keys are not accepted in an inventory file",
                "delete it (and rotate the key if the file was shared); give the controller credentials with "
                "a profile (profile: NAME or AWS_PROFILE), SSO, environment variables or an instance role",
            )


def refuse_secrets(raw: Mapping[str, Any], file_accounts: Any = None, accounts_file_key: str = "accounts_file") -> None:
    """Refuse credentials in the configuration: top-level keys, account entries (also those of the
    accounts file) and organization.

    Keys the user names freely (compose, groups, filters) are not looked at. The message names
    the key, never the value."""
    _refuse_secret_keys(raw, "")
    if not isinstance(raw, Mapping):
        return
    for key, entries in (("accounts", raw.get("accounts")), (accounts_file_key, file_accounts)):
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                _refuse_secret_keys(entry, f"{key}[{i}].")
    _refuse_secret_keys(raw.get("organization"), "organization.")


# ---------------------------------------------------------------------------------------------
# the pre-pass: what core cannot check, before core reads the file


def _check_str(value: Any, key: str, definition: Mapping[str, Any]) -> None:
    _string({key: value}, key)


def _check_list(value: Any, key: str, definition: Mapping[str, Any]) -> None:
    if definition.get("choices") and isinstance(value, list):  # each element is one of them
        for i, item in enumerate(value):
            _check_choices(item, f"{key}[{i}]", definition["choices"])
    if definition.get("elements", "raw") == "str":
        _string_list({key: value}, key)
    elif isinstance(value, str) or not isinstance(value, list):
        _string_list({key: value}, key)  # the same messages for a string or another type
    elif definition.get("elements") == "dict":
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise ConfigError(
                    f"{key}[{i}]", f"expected a mapping, got {_type_name(item)}", "write key: value pairs"
                )


def _check_dict(value: Any, key: str, definition: Mapping[str, Any]) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a mapping, got {_type_name(value)}", f"write {key} as key: value pairs")


def _check_float(value: Any, key: str, definition: Mapping[str, Any]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected a number, got {_type_name(value)} ({value!r})", "write a number")


_TYPE_CHECKS: dict[str, Callable[[Any, str, Mapping[str, Any]], None]] = {
    "str": _check_str,
    "path": _check_str,
    "int": lambda value, key, definition: _check_int(value, key, RANGES.get(key)),
    "bool": lambda value, key, definition: _check_bool(value, key),
    "float": _check_float,
    "list": _check_list,
    "dict": _check_dict,
}
# ansible-core's spellings of the same types (its ensure_type): the constructed fragment declares
# leading_separator as "boolean", which would otherwise go unchecked
_TYPE_CHECKS.update(
    boolean=_TYPE_CHECKS["bool"],
    integer=_TYPE_CHECKS["int"],
    string=_TYPE_CHECKS["str"],
    dictionary=_TYPE_CHECKS["dict"],
)


def _check_choices(value: Any, key: str, choices: Iterable[Any]) -> None:
    choices = [str(c) for c in choices]
    if str(value) not in choices:
        hint = _suggest(str(value), choices)
        # a look-alike ('аws' with a Cyrillic а, 'standard ') printed as is reads like the choice suggested
        oddity = key_oddity(value)
        shown = f"{ascii(value)} ({oddity})" if oddity else repr(value)
        raise ConfigError(
            key, f"unknown value {shown}", (hint + " " if hint else "") + "use one of " + ", ".join(choices)
        )


def _check_session_name(value: str, key: str) -> None:
    if not validation.is_session_name(value):
        raise ConfigError(key, f"{value!r} is not a valid role session name", "use 2-64 letters, digits or +=,.@_-")


@dataclass(frozen=True)
class CheckContext:
    """What some checks compare against (None: the name is not checked, the shape still is)."""

    known_regions: frozenset[str] | None = None
    known_attributes: frozenset[str] | None = None


# Checks beyond the documented type and choices, run after them. Options whose value may take
# several YAML forms (or whose type message must say more) are parsed by their own function
# instead of the generic type check: see OWN_TYPE_CHECK.
OPTION_CHECKS: dict[str, Callable[[Any, CheckContext], Any]] = {
    "role_name": lambda v, c: _check_role_name(v, "role_name"),
    "external_id": lambda v, c: _check_external_id(v, "external_id"),
    "profile": lambda v, c: _check_profile(v),
    "role_session_name": lambda v, c: _check_session_name(v, "role_session_name"),
    "regions": lambda v, c: _check_regions(v, "regions", c.known_regions),
    "exclude_regions": lambda v, c: _check_regions(v, "exclude_regions", c.known_regions),
    "sts_region": lambda v, c: _check_regions([v], "sts_region", c.known_regions),
    "attributes": lambda v, c: parse_attributes(v, c.known_attributes),
    "filters": lambda v, c: parse_filters(v),
    "hostnames": lambda v, c: parse_hostnames(_hostnames_as_core_reads_them(v)),
    "organization": lambda v, c: parse_organization(v),
    "shard": lambda v, c: parse_shard(v),
    "include_filters": lambda v, c: aws_ec2_compat.filter_list(v, "include_filters"),
    "exclude_filters": lambda v, c: aws_ec2_compat.filter_list(v, "exclude_filters"),
    "hostvars_prefix": lambda v, c: aws_ec2_compat.check_affix(v, "hostvars_prefix"),
    "hostvars_suffix": lambda v, c: aws_ec2_compat.check_affix(v, "hostvars_suffix"),
}
# accounts: checked with accounts_file in _check_accounts (their entries need role_name and partition)
OWN_TYPE_CHECK = frozenset(
    {"filters", "hostnames", "organization", "shard", "accounts", "include_filters", "exclude_filters"}
)


def check_config(
    raw: Any,
    definitions: Mapping[str, Mapping[str, Any]],
    *,
    file_accounts: Any = None,
    known_regions: frozenset[str] | None = None,
    known_attributes: frozenset[str] | None = None,
    accounts_file_key: str = "accounts_file",
) -> None:
    """The pre-pass over the raw YAML mapping of the inventory file; raises ``ConfigError``.

    ``definitions`` are the option definitions ansible-core holds for the plugin (its DOCUMENTATION
    with the doc fragments merged in); ``file_accounts`` the loaded content of ``accounts_file``."""
    check_mapping(raw)
    refuse_secrets(raw, file_accounts, accounts_file_key)
    check_unknown_keys(raw, definitions)
    aws_ec2_compat.refuse_templates(raw)  # before the checks that would read a template as a value
    context = CheckContext(known_regions=known_regions, known_attributes=known_attributes)
    for key, definition in definitions.items():
        value = raw.get(key)
        if value is None:
            continue  # core applies the documented default
        if key not in OWN_TYPE_CHECK:
            type_check = _TYPE_CHECKS.get(definition.get("type", "str"))
            if type_check is not None:
                type_check(value, key, definition)
            if definition.get("choices") and definition.get("type") != "list":  # a list's elements: _check_list
                _check_choices(value, key, definition["choices"])
        check = OPTION_CHECKS.get(key)
        if check is not None:
            check(value, context)
    partition = raw.get("partition") or definitions["partition"].get("default")
    _check_accounts(raw, partition, file_accounts, known_regions, accounts_file_key)
    # compose / groups / keyed_groups: Jinja syntax and aws_ec2-only variable names, before any AWS call
    aws_ec2_compat.check_constructed(
        raw.get("compose"),
        raw.get("groups"),
        raw.get("keyed_groups"),
        prefix=raw.get("hostvars_prefix"),
        suffix=raw.get("hostvars_suffix"),
    )


def _check_accounts(
    raw: Mapping[str, Any], partition: str, file_accounts: Any, known_regions: Any, accounts_file_key: str
) -> None:
    """The accounts of ``accounts`` and ``accounts_file`` (their defaults come from role_name,
    external_id and partition), and that there is something to scan."""
    common = {
        "default_role": raw.get("role_name"),
        "default_external_id": raw.get("external_id"),
        "partition": partition,
        "known_regions": known_regions,
    }
    explicit = parse_accounts(raw.get("accounts"), key="accounts", **common)
    from_file = parse_accounts(file_accounts, key=accounts_file_key, source="accounts_file", **common)
    refuse_empty_accounts_file(raw, from_file, accounts_file_key)
    if raw.get("organization") is not None and not raw.get("role_name"):
        raise ConfigError(
            "role_name",
            "organization discovery needs a default role to assume in each account",
            "set role_name: the discovery role that exists in every member account",
        )
    if not explicit and not from_file and raw.get("organization") is None:
        if raw.get("accounts") is not None:
            raise ConfigError(
                "accounts", "the account list is empty", 'list at least one account id, e.g. accounts: ["111111111111"]'
            )
        raise ConfigError(
            "accounts", "no accounts to scan", "list account ids under accounts, or set accounts_file or organization"
        )
    check_partitions(raw, partition, (("accounts", explicit), (accounts_file_key, from_file)))
    refuse_empty_scope(
        raw,
        explicit,
        from_file,
        tuple(raw.get("regions") or ()),
        tuple(raw.get("exclude_regions") or ()),
        accounts_file_key,
    )


def accounts_file_entries(content: Any, key: str = "accounts_file") -> Any:
    """The account entries of an accounts file's content: a list, or the list under ``accounts:``
    of a mapping that holds nothing else. Another key of that mapping (``regions:``, a typo of
    ``accounts``) would be ignored silently: refused, a secret-looking one as a secret (the
    message names the key, never its value)."""
    if not isinstance(content, Mapping):
        return content
    _refuse_secret_keys(content, f"{key}.")
    for name in content:
        if name != "accounts":
            hint = _suggest(str(name), ("accounts",))
            oddity = key_oddity(name)  # a look-alike of accounts: shown escaped, the odd character named
            raise ConfigError(
                f"{key}.{ascii(name) if oddity else name}",
                f"unknown key ({oddity + '; ' if oddity else ''}an accounts file is a list of accounts, "
                "or a mapping with only accounts:)",
                (hint + " " if hint else "")
                + "list the accounts under accounts: and set other options in the inventory file",
            )
    return content.get("accounts")


def check_partitions(
    raw: Mapping[str, Any], partition: str, sources: Iterable[tuple[str, tuple[Account, ...]]]
) -> None:
    """Each region given is of the partition of the accounts that use it: a role in aws-cn is not
    assumed through a us- endpoint, nor an aws account scanned in a cn- region. A region is placed by
    its partition's region pattern (partitions.py, botocore's regionRegex), so a new region of a
    partition is accepted; one that matches no pattern is left to AWS."""
    regions = raw.get("regions") or []
    sts_region = raw.get("sts_region")
    # the partitions roles are assumed in: each account's, and the option's for organization accounts
    used: list[tuple[str, str, Account | None]] = [
        (f"{key}[{i}]", account.partition, account) for key, accounts in sources for i, account in enumerate(accounts)
    ]
    if raw.get("organization") is not None:
        used.append(("organization", partition, None))
    checked: set[tuple[str, tuple[str, ...] | None]] = set()
    for where, account_partition, account in used:
        own = account is not None and account.regions is not None
        # the same partition and regions judge the same (thousands of accounts: each pair once)
        key = (account_partition, tuple(account.regions) if own else None)
        if key in checked:
            continue
        checked.add(key)
        for j, region in enumerate(account.regions if own else regions):
            region_partition = partitions.partition_of(region)
            if region_partition is not None and region_partition != account_partition:
                raise _partition_mismatch(
                    raw,
                    where if own or account_partition != partition else None,
                    own,
                    j,
                    region,
                    account_partition,
                    region_partition,
                )
        sts_partition = partitions.partition_of(sts_region) if isinstance(sts_region, str) else None
        if sts_partition is not None and sts_partition != account_partition:
            raise ConfigError(
                "sts_region",
                f"{sts_region} is a region of partition {sts_partition}, but {where} is in partition "
                f"{account_partition} (AssumeRole is called there)",
                f"write a region of {account_partition} (such as {partitions.home_region(account_partition)}), "
                "or remove sts_region",
            )


def _partition_mismatch(
    raw: Mapping[str, Any], account: str | None, own: bool, j: int, region: str, partition: str, other: str
) -> ConfigError:
    """The one line for a region of partition ``other`` used with partition ``partition``: that of
    ``account`` (an entry with regions of its ``own``, or a role_arn of another partition than the
    option's), else the option's."""
    example = f"such as {partitions.home_region(partition)}"
    if account is None and raw.get("partition") is not None:
        return ConfigError(
            "partition",
            f"{partition}, but regions lists {region}, a region of partition {other}",
            f"write partition: {other}, or list regions of {partition} ({example})",
        )
    if account is None:
        return ConfigError(
            f"regions[{j}]",
            f"{region} is a region of partition {other}, but the accounts are in partition {partition}",
            f"list regions of {partition} ({example}), or write partition: {other}",
        )
    if own:
        return ConfigError(
            f"{account}.regions[{j}]",
            f"{region} is a region of partition {other}, but {account} is in partition {partition}",
            f"list regions of {partition} ({example})",
        )
    return ConfigError(
        account,
        f"its role_arn is in partition {partition}, but regions lists {region}, a region of partition {other}",
        f"give this account regions of {partition} ({example}), or a role_arn in {other}",
    )


def refuse_empty_accounts_file(
    raw: Mapping[str, Any], from_file: tuple[Account, ...], accounts_file_key: str = "accounts_file"
) -> None:
    """An accounts file that lists no account (empty, [], accounts: []) is a broken export of the
    account list, not an instruction to scan nothing."""
    if raw.get("accounts_file") is not None and not from_file:
        raise ConfigError(
            accounts_file_key,
            f"{raw.get('accounts_file')} lists no account",
            'list the accounts in it (- "111111111111"), or remove accounts_file',
        )


def refuse_empty_scope(
    raw: Mapping[str, Any],
    explicit: tuple[Account, ...],
    from_file: tuple[Account, ...],
    regions: tuple[str, ...],
    exclude_regions: tuple[str, ...],
    accounts_file_key: str = "accounts_file",
) -> None:
    """Refuse a configuration that can only scan nothing somewhere: exclude_regions removing every
    region of a region list. (Regions that come from DescribeRegions are checked per account at
    scan time: NoRegionsToScan.)"""
    excluded = set(exclude_regions)
    if not excluded:
        return
    if regions and set(regions) <= excluded:
        raise ConfigError(
            "exclude_regions",
            "removes every region of regions, so nothing would be scanned",
            "remove those regions from exclude_regions or from regions",
        )
    for key, accounts in (("accounts", explicit), (accounts_file_key, from_file)):
        for i, account in enumerate(accounts):
            if account.regions and set(account.regions) <= excluded:
                raise ConfigError(
                    f"{key}[{i}].regions",
                    f"exclude_regions removes every region of account {account.id}, so it would scan nothing",
                    "remove those regions from exclude_regions or from the account's regions",
                )


# ---------------------------------------------------------------------------------------------
# settings from the values ansible-core resolved


def build_settings(
    options: Mapping[str, Any], *, file_accounts: Any = None, raw: Mapping[str, Any] | None = None
) -> Settings:
    """Typed settings from ``options`` (name -> value, as ``get_option`` returns them: documented
    defaults applied) of a configuration that passed ``check_config``; ``file_accounts`` is the
    loaded content of ``accounts_file`` (or None), ``raw`` the file's own mapping (what it wrote:
    an option left empty, such as ``default_groups:``, gets its documented default, not written)."""
    role_name = options["role_name"]
    external_id = options["external_id"]
    partition = options["partition"]
    common = {"default_role": role_name, "default_external_id": external_id, "partition": partition}
    explicit = parse_accounts(options["accounts"], key="accounts", **common)
    from_file = parse_accounts(file_accounts, key="accounts_file", source="accounts_file", **common)
    hostnames = parse_hostnames(options["hostnames"])
    attributes = options["attributes"]
    if attributes is not None:  # keep what the hostname preferences read
        attributes = tuple(dict.fromkeys([*attributes, *hostnames_grammar.attributes_read(hostnames)]))
    return Settings(
        accounts=AccountSettings(
            explicit=merge_accounts(explicit, from_file),
            organization=parse_organization(options["organization"]),
            role_name=role_name,
            external_id=external_id,
            partition=partition,
            shard=parse_shard(options["shard"]),
        ),
        client=ClientSettings(
            profile=options["profile"],
            sts_region=options["sts_region"],
            retry_mode=options["retry_mode"],
            max_attempts=options["max_attempts"],
            max_pool_connections=options["max_workers"],
            connect_timeout=options["connect_timeout"],
            read_timeout=options["read_timeout"],
            duration_seconds=options["duration_seconds"],
            role_session_name=options["role_session_name"],
        ),
        scan=ScanSettings(
            regions=tuple(options["regions"]),
            exclude_regions=tuple(options["exclude_regions"]),
            filters=parse_filters(options["filters"]),
            attributes=attributes,
            max_workers=options["max_workers"],
            processes=options["scan_processes"],
            **aws_ec2_compat.scan_fields(options),
        ),
        output=OutputSettings(
            hostnames=hostnames,
            strict_errors=options["strict_errors"],
            default_groups=tuple(k for k in DEFAULT_GROUP_KINDS if k in options["default_groups"]),
            default_groups_written=(raw or {}).get("default_groups") is not None,
            **aws_ec2_compat.output_fields(options),
        ),
    )


def check_mapping(raw: Any, name: str = "crossaccount.aws.ec2") -> None:
    """The inventory file is a YAML mapping of options: checked before anything reads a key of it
    (an empty file, a list or plain text would otherwise fail on the first ``raw.get``)."""
    if isinstance(raw, Mapping):
        return
    fix = f"write the options as key: value lines, starting with plugin: {name}"
    if raw is None or raw == "":
        raise ConfigError("(file)", "the file is empty, not a mapping of options", fix)
    raise ConfigError("(file)", f"expected a mapping of options, got {_type_name(raw)}", fix)


def check_plugin(raw: Any, names: Iterable[str]) -> None:
    """The file is a mapping (``check_mapping``) and its ``plugin:`` value names this plugin:
    checked before any other key."""
    names = list(names)
    check_mapping(raw, names[0])
    if raw.get("plugin") not in names:
        if "plugin" in raw:
            problem = f"{raw.get('plugin')!r} is not this plugin"
        else:  # a misspelt key (plugn:, Plugin:) is named
            near = [key for key in raw if difflib.get_close_matches(str(key).lower(), ["plugin"], n=1, cutoff=0.6)]
            problem = "missing" + (f" (is {ascii(str(near[0]))} meant to be plugin?)" if near else "")
        raise ConfigError(
            "plugin",
            problem,
            f"write plugin: {names[0]} (a file for another plugin is read by that plugin)",
        )
