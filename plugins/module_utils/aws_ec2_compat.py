# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an amazon.aws.aws_ec2 user already writes: options, filter queries, host variables.

* ``AWS_EC2_OPTIONS``: every aws_ec2 option (and alias) and what it is here: the same, renamed,
  not needed, or refused -- with the one-line fix the unknown-key error shows. The migration guide
  (docs/migrating-from-aws_ec2.md) and a test (every option of the bundled aws_ec2 is in the table)
  keep it complete.
* ``include_filters`` / ``exclude_filters``: aws_ec2's semantics, one DescribeInstances query per
  entry per account-region, results united by instance id, exclusions removed.
* ``hostvars_prefix`` / ``hostvars_suffix``: renames of the instance variables, as aws_ec2 does it.
* ``check_constructed``: compose / groups / keyed_groups parsed before any AWS call; a Jinja syntax
  error, or a variable aws_ec2 sets under another name (``tags``), is one line naming the option.

No AWS call and no Ansible import at module level (Jinja only when checking templates).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils import validation
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError, unknown_key

SAME = "same"
RENAMED = "renamed"
NOT_NEEDED = "not needed"
REFUSED = "refused"

# aws_ec2 option (or alias) -> (status, what to write here / why). Keys this plugin also accepts are
# SAME. The text after the status is the fix the unknown-key error prints, and the migration guide's
# table says the same thing.
AWS_EC2_OPTIONS: dict[str, tuple[str, str]] = {
    "plugin": (SAME, "the option is the same; its value is crossaccount.aws.ec2 (and the file is named *ec2.yml)"),
    "regions": (SAME, "the regions to scan; empty means every enabled region of each account (per account too)"),
    "filters": (SAME, "the same DescribeInstances filters; values must be strings (quote numbers)"),
    "include_filters": (SAME, "one more DescribeInstances query per entry per account-region, as in aws_ec2"),
    "exclude_filters": (SAME, "instances matched by any entry are removed, as in aws_ec2"),
    "hostnames": (
        SAME,
        "the same preference list; the default is instance-id (aws_ec2: dns-name, private-dns-name), "
        "and two instances are never merged into one host",
    ),
    "hostvars_prefix": (SAME, "the same: prepended to the instance variables (also ec2_tags)"),
    "hostvars_suffix": (SAME, "the same: appended to the instance variables (also ec2_tags)"),
    "compose": (SAME, "the same; read ec2_tags where aws_ec2 reads tags"),
    "groups": (SAME, "the same; read ec2_tags where aws_ec2 reads tags"),
    "keyed_groups": (SAME, "the same; read ec2_tags where aws_ec2 reads tags"),
    "strict": (SAME, "the same (ansible-core's constructed option)"),
    "leading_separator": (SAME, "the same (ansible-core's constructed option)"),
    "use_extra_vars": (SAME, "the same (ansible-core's constructed option)"),
    "cache": (SAME, "the same; a failed account or region then keeps its last hosts, marked crossaccount_stale"),
    "cache_plugin": (SAME, "the same (ansible-core's inventory cache option)"),
    "cache_timeout": (SAME, "the same (ansible-core's inventory cache option)"),
    "cache_connection": (SAME, "the same (ansible-core's inventory cache option)"),
    "cache_prefix": (SAME, "the same (ansible-core's inventory cache option)"),
    "profile": (SAME, "the same: the profile of the controller's own (source) credentials"),
    "aws_profile": (RENAMED, "write profile: NAME (the controller's source credentials)"),
    "boto_profile": (RENAMED, "write profile: NAME (the controller's source credentials)"),
    "assume_role_arn": (
        RENAMED,
        "list the accounts instead: accounts: [{role_arn: arn:aws:iam::ID:role/NAME}], or role_name: NAME "
        'with accounts: ["ID", ...]; one file covers every account',
    ),
    "iam_role_arn": (
        RENAMED,
        "list the accounts instead: accounts: [{role_arn: arn:aws:iam::ID:role/NAME}], or role_name: NAME "
        'with accounts: ["ID", ...]; one file covers every account',
    ),
    "region": (
        RENAMED,
        "write sts_region: REGION for the STS and DescribeRegions endpoint; the regions to scan go under regions",
    ),
    "aws_region": (
        RENAMED,
        "write sts_region: REGION for the STS and DescribeRegions endpoint; the regions to scan go under regions",
    ),
    "ec2_region": (
        RENAMED,
        "write sts_region: REGION for the STS and DescribeRegions endpoint; the regions to scan go under regions",
    ),
    "strict_permissions": (
        RENAMED,
        "write strict_errors: true to fail on any failed account or region (default false: a warning "
        "and an entry in crossaccount_errors each, the other accounts kept)",
    ),
    "endpoint_url": (
        NOT_NEEDED,
        "remove it; set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_STS) in the environment",
    ),
    "aws_endpoint_url": (
        NOT_NEEDED,
        "remove it; set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_STS) in the environment",
    ),
    "aws_ca_bundle": (NOT_NEEDED, "remove it; set AWS_CA_BUNDLE in the environment"),
    "aws_config": (
        NOT_NEEDED,
        "remove it; write retry_mode, max_attempts, connect_timeout, read_timeout or max_workers",
    ),
    "debug_botocore_endpoint_logs": (NOT_NEEDED, "remove it; run ansible-inventory -vvv for per-call detail"),
    "allow_duplicated_hosts": (
        NOT_NEEDED,
        "remove it: each instance is one host, named by the first matching hostname (what false means); "
        "true is not supported, and instances are never merged",
    ),
    "use_contrib_script_compatible_sanitization": (
        REFUSED,
        "remove it: group names here are always letters, digits and _ (names with - or . break patterns)",
    ),
    "use_contrib_script_compatible_ec2_tag_keys": (
        REFUSED,
        "remove it and read ec2_tags['KEY'] where you read ec2_tag_KEY",
    ),
    "use_ssm_inventory": (
        REFUSED,
        "remove it: SSM inventory is not fetched (one more API per account-region); gather it in a play "
        "with amazon.aws.ssm_inventory_info if you need it",
    ),
    "route53_enabled": (
        REFUSED,
        "remove it: Route53 names are not looked up across accounts; use hostnames or compose ansible_host",
    ),
    "route53_hostnames": (
        REFUSED,
        "remove it: Route53 names are not looked up across accounts; use hostnames or compose ansible_host",
    ),
    "route53_excluded_zones": (
        REFUSED,
        "remove it: Route53 names are not looked up across accounts; use hostnames or compose ansible_host",
    ),
    "validate_certs": (
        REFUSED,
        "remove it: certificates are always checked; point AWS_CA_BUNDLE at your proxy's CA instead",
    ),
    # options older aws_ec2 files still carry (amazon.aws removed them; 10.x refuses them too)
    "include_extra_api_calls": (
        NOT_NEEDED,
        "remove it: aws_ec2 ignored it from amazon.aws 5.0.0 and removed it in 9.0.0; the scan's calls "
        "are listed in docs/iam.md",
    ),
}

# Secret options of aws_ec2 (access_key, secret_key, session_token and their aliases) are refused
# before any of this by config.refuse_secrets: an inventory file never holds secret keys.
AWS_EC2_SECRET_OPTIONS = (
    "access_key",
    "aws_access_key_id",
    "aws_access_key",
    "ec2_access_key",
    "secret_key",
    "aws_secret_access_key",
    "aws_secret_key",
    "ec2_secret_key",
    "session_token",
    "aws_session_token",
    "security_token",
    "aws_security_token",
)


def aws_ec2_hint(key: Any) -> ConfigError | None:
    """The error for an unknown top-level key that is an aws_ec2 option this plugin does not take."""
    entry = AWS_EC2_OPTIONS.get(str(key))
    if entry is None or entry[0] == SAME:
        return None
    status, fix = entry
    what = {
        RENAMED: "is amazon.aws.aws_ec2's name",
        NOT_NEEDED: "is an amazon.aws.aws_ec2 option not needed here",
        REFUSED: "is an amazon.aws.aws_ec2 option this plugin does not support",
    }[status]
    return ConfigError(str(key), what, fix)


# Options amazon.aws.aws_ec2 renders as Jinja templates when it reads them (its TemplatedOptions:
# profile, regions, filters values; the others are refused or renamed here). This plugin reads
# every value as written, so ``regions: ["{{ lookup('env', 'REGION') }}"]`` would name no region
# and a templated filter value would silently match no instance: refused, with the fix.
_TEMPLATED_OPTIONS: dict[str, str] = {
    "profile": "write the profile name, or remove profile and set AWS_PROFILE in the environment",
    "regions": "write the region codes, e.g. regions: [us-east-1, eu-west-1]",
    "filters": "write the value itself (generate the file if it must vary)",
}


def _values_at(key: str, value: Any) -> Iterable[tuple[str, Any]]:
    """(where, value) of each string aws_ec2 would template in option ``key``."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from _values_at(f"{key}.{name}", item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (f"{key}[{i}]" if len(value) > 1 or key == "regions" else key), item
    else:
        yield key, value


def refuse_templates(raw: Mapping[str, Any]) -> None:
    """A Jinja template where aws_ec2 renders one (profile, regions, filters values): one line
    naming the key, before any other check of that option reads the text as a value."""
    for option, fix in _TEMPLATED_OPTIONS.items():
        for where, value in _values_at(option, raw.get(option)):
            if validation.is_template(value):
                raise ConfigError(
                    where,
                    "a Jinja template, which amazon.aws.aws_ec2 renders here and this plugin reads as written "
                    "(it would match nothing)",
                    fix,
                )


# Environment variables amazon.aws.aws_ec2 reads (its options' env entries) that botocore does not:
# this plugin would silently go to AWS's own endpoints, or use other credentials (an instance role, a
# profile). Each -> the variable botocore reads instead. Values are compared, never printed.
AWS_EC2_ENVIRONMENT: dict[str, tuple[str, str]] = {
    "AWS_URL": ("AWS_ENDPOINT_URL", "the endpoint URL (aws_ec2's endpoint_url)"),
    "AWS_ACCESS_KEY": ("AWS_ACCESS_KEY_ID", "an access key id (aws_ec2's access_key)"),
    "AWS_SECRET_KEY": ("AWS_SECRET_ACCESS_KEY", "a secret access key (aws_ec2's secret_key)"),
}


def refuse_aws_ec2_environment(environ: Mapping[str, str]) -> None:
    """An aws_ec2-only variable of ``environ`` that botocore's own does not match: one line naming
    it and botocore's name (the value is never shown)."""
    for name, (ours, what) in AWS_EC2_ENVIRONMENT.items():
        value = environ.get(name)
        if value and environ.get(ours) != value:
            raise ConfigError(
                name,
                f"holds {what} for amazon.aws, which botocore and this plugin do not read",
                f"set {ours} to the same value (botocore's name), or unset {name}",
            )


# ---------------------------------------------------------------------------------------------
# include_filters / exclude_filters

DEFAULT_STATES = ("pending", "running", "stopping", "stopped")
Filter = tuple[tuple[str, tuple[str, ...]], ...]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(
        type(value), type(value).__name__
    )


def filter_mapping(value: Any, key: str) -> Filter:
    """One DescribeInstances filter mapping (name -> value or list of values), validated like
    ``filters``: names and values are strings (YAML turns 0755 into 493, 1.10 into 1.1, yes into
    true, so such a value would select other instances)."""
    example = 'e.g. {"tag:Environment": [dev, qa]}'
    if not isinstance(value, Mapping):
        got = _type_name(value)
        raise ConfigError(key, f"expected a mapping of filter name to values, got {got}", f"write {example}")
    if not value:
        raise ConfigError(key, "the filter is empty (it would match every instance)", f"write {example}")
    return filter_pairs(value, key)


# The DescribeInstances filter names AWS documents (botocore 1.43's EC2 model, the documentation
# of DescribeInstancesRequest.Filters), with ``tag:<key>`` and the older ``tag-value``. Filter
# names are case-sensitive, and AWS refuses an unknown one in every account-region
# (InvalidParameterValue): a name one or two edits from a documented one, or a documented one
# written with underscores or capitals, is refused here as a typo, in one line with the name meant.
# Other unknown names go to AWS as written (a filter newer than this list still works);
# tests/unit/plugins/module_utils/test_aws_ec2_compat.py checks the list against the installed
# botocore and that no documented name is taken for a typo.
DESCRIBE_INSTANCES_FILTERS = frozenset(
    """
    affinity architecture availability-zone availability-zone-id block-device-mapping.attach-time
    block-device-mapping.delete-on-termination block-device-mapping.device-name
    block-device-mapping.status block-device-mapping.volume-id boot-mode capacity-reservation-id
    capacity-reservation-specification.capacity-reservation-preference
    capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id
    capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn
    client-token current-instance-boot-mode dns-name ebs-optimized ena-support
    enclave-options.enabled hibernation-options.configured host-id hypervisor
    iam-instance-profile.arn iam-instance-profile.id image-id instance-id instance-lifecycle
    instance-state-code instance-state-name instance-type instance.group-id instance.group-name
    ip-address ipv6-address kernel-id key-name launch-index launch-time
    maintenance-options.auto-recovery metadata-options.http-endpoint
    metadata-options.http-protocol-ipv4 metadata-options.http-protocol-ipv6
    metadata-options.http-put-response-hop-limit metadata-options.http-tokens
    metadata-options.instance-metadata-tags metadata-options.state monitoring-state
    network-interface.addresses.association.allocation-id
    network-interface.addresses.association.association-id
    network-interface.addresses.association.carrier-ip
    network-interface.addresses.association.customer-owned-ip
    network-interface.addresses.association.ip-owner-id
    network-interface.addresses.association.public-dns-name
    network-interface.addresses.association.public-ip network-interface.addresses.primary
    network-interface.addresses.private-dns-name network-interface.addresses.private-ip-address
    network-interface.association.allocation-id network-interface.association.association-id
    network-interface.association.carrier-ip network-interface.association.customer-owned-ip
    network-interface.association.ip-owner-id network-interface.association.public-dns-name
    network-interface.association.public-ip network-interface.attachment.attach-time
    network-interface.attachment.attachment-id network-interface.attachment.delete-on-termination
    network-interface.attachment.device-index network-interface.attachment.instance-id
    network-interface.attachment.instance-owner-id network-interface.attachment.network-card-index
    network-interface.attachment.status network-interface.availability-zone
    network-interface.deny-all-igw-traffic network-interface.description network-interface.group-id
    network-interface.group-name network-interface.ipv4-prefixes.ipv4-prefix
    network-interface.ipv6-address network-interface.ipv6-addresses.ipv6-address
    network-interface.ipv6-addresses.is-primary-ipv6 network-interface.ipv6-native
    network-interface.ipv6-prefixes.ipv6-prefix network-interface.mac-address
    network-interface.network-interface-id network-interface.operator.managed
    network-interface.operator.principal network-interface.outpost-arn network-interface.owner-id
    network-interface.private-dns-name network-interface.private-ip-address
    network-interface.public-dns-name network-interface.requester-id
    network-interface.requester-managed network-interface.source-dest-check network-interface.status
    network-interface.subnet-id network-interface.tag-key network-interface.tag-value
    network-interface.vpc-id network-performance-options.bandwidth-weighting operator.managed
    operator.principal outpost-arn owner-id placement-group-name placement-partition-number platform
    platform-details private-dns-name private-dns-name-options.enable-resource-name-dns-a-record
    private-dns-name-options.enable-resource-name-dns-aaaa-record
    private-dns-name-options.hostname-type private-ip-address product-code product-code.type
    ramdisk-id reason requester-id reservation-id root-device-name root-device-type
    source-dest-check spot-instance-request-id state-reason-code state-reason-message subnet-id
    tag-key tenancy tpm-support usage-operation usage-operation-update-time virtualization-type
    vpc-id
    tag-value
    """.split()
)


def _edits(a: str, b: str, most: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``most + 1`` once it is known to exceed ``most``."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
        if min(row) > most:
            return most + 1
    return row[-1]


def misspelt_filter(name: str) -> str | None:
    """The documented DescribeInstances filter name ``name`` is a typo of, or None (a documented
    name, ``tag:<key>``, or a name too far from any to be taken for one)."""
    if name in DESCRIBE_INSTANCES_FILTERS or name.startswith("tag:"):
        return None
    plain = name.lower().replace("_", "-")
    if plain in DESCRIBE_INSTANCES_FILTERS:
        return plain
    if plain.startswith("tag:"):
        return "tag:" + name[4:]
    if len(plain) < 5:
        return None
    close = sorted((_edits(plain, known, 2), known) for known in DESCRIBE_INSTANCES_FILTERS)
    return close[0][1] if close[0][0] <= 2 else None


def filter_pairs(value: Mapping[str, Any], key: str) -> Filter:
    """(name, values) pairs of a filter mapping; names and values must be strings (shared by
    ``filters`` and each ``include_filters`` / ``exclude_filters`` entry)."""
    out = []
    for name, values in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(key, f"filter name {name!r} is not a string", "write a DescribeInstances filter name")
        if name == "tag:":
            raise ConfigError(f"{key}.{name}", "a tag filter names no tag key", 'write e.g. "tag:Environment": prod')
        meant = misspelt_filter(name)
        if meant is not None:
            raise ConfigError(
                f"{key}.{name}",
                "not a DescribeInstances filter name (AWS would refuse the query in every account-region; "
                "filter names are case-sensitive)",
                f"did you mean {meant}?",
            )
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise ConfigError(f"{key}.{name}", "the list of values is empty", f"write e.g. {name}: [value1, value2]")
        for i, item in enumerate(values):
            where = f"{key}.{name}" + (f"[{i}]" if len(values) > 1 else "")
            if isinstance(item, (bool, int, float)):
                # YAML turns 0755 into 493, 1.10 into 1.1 and yes into true: filtering on such a value
                # would silently select other instances.
                raise ConfigError(
                    where,
                    f"YAML read the value as {_type_name(item)} ({item!r}), which may differ from what you wrote",
                    f'write the value in quotes exactly as the tag or attribute holds it: {name}: "..."',
                )
            if not isinstance(item, str):
                raise ConfigError(
                    where,
                    f"expected a value or a list of values, got {_type_name(item)}",
                    f"write e.g. {name}: [value1, value2]",
                )
        out.append((name, tuple(values)))
    return tuple(out)


def with_default_state(query: Filter) -> Filter:
    """aws_ec2 (and this plugin) list every state but terminated and shutting-down unless the
    query names instance-state-name."""
    if any(name == "instance-state-name" for name, _values in query):
        return query
    return query + (("instance-state-name", DEFAULT_STATES),)


def filter_list(value: Any, key: str) -> tuple[Filter, ...]:
    """``include_filters`` / ``exclude_filters``: a list of filter mappings, each one query."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        raise ConfigError(
            key,
            "expected a list of filter mappings, got a mapping",
            f'write each query as a list item: {key}: [{{"tag:Name": web}}]',
        )
    if not isinstance(value, list):
        raise ConfigError(key, f"expected a list of filter mappings, got {_type_name(value)}", f"write {key}: [...]")
    return tuple(with_default_state(filter_mapping(item, f"{key}[{i}]")) for i, item in enumerate(value))


def instance_queries(
    filters: Filter, include_filters: Iterable[Filter], filters_given: bool
) -> list[list[dict[str, Any]]]:
    """The DescribeInstances queries whose results are united, as aws_ec2 builds them: ``filters``
    (when given, or when there is no include filter) and then one query per include_filters entry."""
    include = list(include_filters)
    queries = [filters] if (filters_given or not include) else []
    return [_describe(q) for q in queries + include]


def exclusion_queries(exclude_filters: Iterable[Filter]) -> list[list[dict[str, Any]]]:
    return [_describe(q) for q in exclude_filters]


def _describe(query: Filter) -> list[dict[str, Any]]:
    return [{"Name": name, "Values": list(values)} for name, values in query]


# ---------------------------------------------------------------------------------------------
# host variables

# Variables this plugin adds itself (not instance attributes): never prefixed.
OWN_VARIABLES = frozenset(
    (
        "account_id",
        "account_name",
        "region",
        "ansible_host",
        "crossaccount_stale",
        "crossaccount_scanned_at",
        "ssm_ping_status",  # the ssm option's discovery (DescribeInstanceInformation), not an instance attribute
    )
)


def affix(prefix: str | None, suffix: str | None, name: str) -> str:
    return f"{prefix or ''}{name}{suffix or ''}"


# Published (never prefixed) on every host of a source that sets hostvars_prefix / hostvars_suffix,
# so readers of the instance variables (the CMDB export) find them under their renamed names.
PREFIX_VARIABLE = "crossaccount_hostvars_prefix"
SUFFIX_VARIABLE = "crossaccount_hostvars_suffix"


def host_variables(record: Mapping[str, Any], prefix: str | None, suffix: str | None) -> dict[str, Any]:
    """The variables published for one host record: the instance attributes (and ec2_tags, aws_ec2's
    ``tags``) renamed with ``hostvars_prefix`` / ``hostvars_suffix`` as aws_ec2 does; this plugin's
    own variables (account_id, region, ansible_host, ...) keep their names, and the prefix and suffix
    themselves are published as ``crossaccount_hostvars_prefix`` / ``crossaccount_hostvars_suffix``
    (each only when set)."""
    if not prefix and not suffix:
        return dict(record)
    out = {(k if k in OWN_VARIABLES else affix(prefix, suffix, k)): v for k, v in record.items()}
    if prefix:
        out[PREFIX_VARIABLE] = prefix
    if suffix:
        out[SUFFIX_VARIABLE] = suffix
    return out


# This plugin's default ansible_host (private IP, else public IP) is set on the host, not shown to
# compose, groups and keyed_groups: aws_ec2 leaves ansible_host unset, so an expression such as
# ``ansible_host | default(public_ip_address)`` gives the public address with both plugins, and a
# compose entry for ansible_host still replaces the default.
_NOT_CONSTRUCTED = frozenset(("ansible_host",))


def constructed_variables(published: Mapping[str, Any]) -> dict[str, Any]:
    """The variables compose, groups and keyed_groups evaluate with for one host (host_variables
    without this plugin's default ansible_host, which aws_ec2 does not set)."""
    return {k: v for k, v in published.items() if k not in _NOT_CONSTRUCTED}


def check_affix(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {_type_name(value)}", f'write it quoted, e.g. {key}: "aws_"')
    import re

    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", value) or (key == "hostvars_prefix" and value[0].isdigit()):
        raise ConfigError(
            key,
            f"{value!r} would not make valid variable names",
            "use letters, digits and _ only (a prefix must not start with a digit), e.g. aws_",
        )
    return value


# ---------------------------------------------------------------------------------------------
# compose / groups / keyed_groups, checked before any AWS call


def renamed_variables(prefix: str | None = None, suffix: str | None = None) -> dict[str, str]:
    """Variables an aws_ec2 expression reads that are not set here -> what to read instead."""
    tags = affix(prefix, suffix, "tags")
    ours = affix(prefix, suffix, "ec2_tags")
    out = {
        "tags": "ec2_tags (ansible-core reserves the name tags; aws_ec2's tags dict is ec2_tags here)"
        if tags == "tags"
        else f"{ours} (ansible-core reserves the name tags)",
        tags: f"{ours} (aws_ec2's tags dict is ec2_tags here, with the same prefix and suffix)",
        affix(prefix, suffix, "ssm_inventory"): "nothing: SSM inventory is not fetched (aws_ec2's use_ssm_inventory)",
    }
    return out


_RENAMED_PREFIXES = (("ec2_tag_", "ec2_tags['{rest}'] (aws_ec2's use_contrib_script_compatible_ec2_tag_keys)"),)


def _replacement(name: str, renamed: Mapping[str, str], defined: set[str]) -> str | None:
    if name in defined:
        return None
    if name in renamed:
        return renamed[name]
    for start, template in _RENAMED_PREFIXES:
        if name.startswith(start) and len(name) > len(start):
            return template.format(rest=name[len(start) :])
    return None


_ENV = None


def _environment() -> Any:
    global _ENV
    if _ENV is None:
        import jinja2

        # Syntax only: filters, tests and lookups are never resolved (nor run) here.
        _ENV = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    return _ENV


def _syntax_error(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    message = " ".join(str(message).split())[:200]
    line = getattr(exc, "lineno", None)
    return f"Jinja syntax error: {message}" + (f" (line {line})" if line and line > 1 else "")


def parse_expression(source: str) -> Any:
    """The Jinja AST of one expression (what ansible-core evaluates for compose and keyed_groups
    keys), or a TemplateSyntaxError. Public Jinja API only: the expression is parsed as the one
    output of ``{{ ... }}``, and anything else in that template (a ``}}`` that closes it early, a
    second output, a statement) is the error ansible-core gives: a chunk after the expression."""
    import jinja2
    from jinja2 import nodes

    tree = _environment().parse("{{ " + source + " }}")
    body = tree.body
    if not (len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1) or isinstance(
        body[0].nodes[0], nodes.TemplateData
    ):
        raise jinja2.TemplateSyntaxError("unexpected chunk after the expression (template delimiters?)", 1)
    return tree


def read_variables(tree: Any) -> set[str]:
    """Names an expression reads from its context. Not jinja2.meta.find_undeclared_variables: that
    runs the code generator, which fails on every filter and test Jinja alone does not know
    (ansible's and collections' json_query, regex_replace, ...)."""
    from jinja2 import nodes

    loaded, stored = set(), set()
    for node in tree.find_all(nodes.Name):
        (loaded if node.ctx == "load" else stored).add(node.name)
    return loaded - stored


def parse_template(source: str) -> Any:
    return _environment().parse(source)


def _conditional_tree(source: str) -> Any:
    """A ``groups`` conditional: an expression; a whole-value ``{{ ... }}`` is stripped as
    ansible-core 2.19 still does (with a deprecation warning)."""
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        text = text[2:-2]
    return parse_expression(text)


# The keys of a keyed_groups entry that ansible-core's Constructable reads
# (_add_host_to_keyed_groups, 2.19 to 2.21; the suboptions of its constructed doc fragment).
KEYED_GROUP_KEYS = ("key", "prefix", "separator", "parent_group", "default_value", "trailing_separator")


def _check_keyed_group_keys(entry: Mapping[str, Any], where: str) -> None:
    """A key ansible-core does not read (``prefx``) would be ignored silently: refused, with a hint."""
    for key in entry:
        if key not in KEYED_GROUP_KEYS:
            raise unknown_key(key, KEYED_GROUP_KEYS, f"{where}.")


# Fields of a keyed_groups entry that ansible-core formats into group names with "%s": None,
# true/false, lists and mappings would make groups named "None_...", "True_..." or "['a']_..."
# without a word, and a number is what YAML made of the text (0755 is 493, 1.10 is 1.1), so all
# of them are refused before any AWS call, as filters values are: only a string is as written.
_KEYED_GROUP_TEXT = ("prefix", "separator", "default_value")


def _check_keyed_group_fields(entry: Mapping[str, Any], where: str) -> None:
    """The types of a keyed_groups entry's fields, and the one combination ansible-core refuses
    only once it evaluates a host (after the whole scan): default_value with trailing_separator."""
    for field in _KEYED_GROUP_TEXT:
        if field not in entry:
            continue
        value = entry[field]
        if value is None and field == "default_value":
            continue  # the same as leaving it out
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ConfigError(
                f"{where}.{field}",
                f"YAML read the value as a number ({value!r}), which may differ from what you wrote",
                # never the number YAML read (493 for 0755) as the text to write
                f"write it in quotes exactly as the group name should read, e.g. {field}: '...'",
            )
        if not isinstance(value, str):
            empty = "; write '' for none" if field != "default_value" else ""
            raise ConfigError(
                f"{where}.{field}",
                f"expected a string, got {_type_name(value)} ({value!r})",
                f"quote it, e.g. {field}: 'value'{empty}",
            )
    trailing = entry.get("trailing_separator")
    if trailing is not None and not isinstance(trailing, bool):
        raise ConfigError(
            f"{where}.trailing_separator",
            f"expected true or false, got {trailing!r}",
            "write trailing_separator: true or trailing_separator: false",
        )
    if trailing is not None and entry.get("default_value") is not None:
        raise ConfigError(
            f"{where}.default_value",
            "default_value and trailing_separator cannot both be set (ansible-core refuses the pair)",
            "keep one: default_value names the group of an empty value, trailing_separator: false drops the separator",
        )


def check_constructed(
    compose: Any,
    groups: Any,
    keyed_groups: Any,
    *,
    prefix: str | None = None,
    suffix: str | None = None,
) -> None:
    """Parse every compose / groups / keyed_groups expression before any AWS call: a syntax error
    or a variable that aws_ec2 sets under another name (``tags``) is one ConfigError naming the
    option. Nothing is evaluated."""
    from jinja2 import TemplateSyntaxError

    renamed = renamed_variables(prefix, suffix)
    compose = compose if isinstance(compose, Mapping) else {}
    groups = groups if isinstance(groups, Mapping) else {}
    keyed_groups = keyed_groups if isinstance(keyed_groups, list) else []
    # keyed_groups and groups also see the host's variables, composed ones included
    defined = {str(k) for k in compose}

    def check(where: str, source: Any, kind: str, names_defined: set[str]) -> None:
        if isinstance(source, bool) and kind == "conditional":
            return
        if not isinstance(source, str):
            raise ConfigError(
                where,
                f"expected a Jinja expression as a string, got {_type_name(source)} ({source!r})",
                "quote it; a literal string value is written with inner quotes, e.g. \"'value'\"",
            )
        if not source.strip():
            raise ConfigError(where, "the expression is empty", "write a Jinja expression, e.g. ec2_tags.Role")
        try:
            if kind == "expression":
                tree = parse_expression(source)
            elif kind == "conditional":
                tree = _conditional_tree(source)
            else:
                tree = parse_template(source)
        except TemplateSyntaxError as exc:
            raise ConfigError(where, _syntax_error(exc), "fix the expression (it is Jinja, without {{ }})") from None
        for name in sorted(read_variables(tree)):
            replacement = _replacement(name, renamed, names_defined)
            if replacement:
                raise ConfigError(
                    where,
                    f"reads '{name}', a variable amazon.aws.aws_ec2 sets that is not set here",
                    f"read {replacement} instead",
                )

    for name, source in compose.items():
        check(f"compose.{name}", source, "expression", set())
    for name, source in groups.items():
        check(f"groups.{name}", source, "conditional", defined)
    for i, entry in enumerate(keyed_groups):
        where = f"keyed_groups[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(where, f"expected a mapping, got {_type_name(entry)}", "write {key: ..., prefix: ...}")
        _check_keyed_group_keys(entry, where)
        _check_keyed_group_fields(entry, where)
        if "key" not in entry:
            raise ConfigError(where, "has no key", "write key: followed by a Jinja expression, e.g. key: instance_type")
        check(f"{where}.key", entry["key"], "expression", defined)
        if entry.get("parent_group") is not None:
            check(f"{where}.parent_group", entry["parent_group"], "template", defined)


# ---------------------------------------------------------------------------------------------
# the options, as settings fields (config.build_settings)


def scan_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """ScanSettings fields of include_filters and exclude_filters (values core resolved)."""
    return {
        "include_filters": filter_list(options.get("include_filters") or None, "include_filters"),
        "exclude_filters": filter_list(options.get("exclude_filters") or None, "exclude_filters"),
        "filters_given": bool(options.get("filters")),
    }


def output_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """OutputSettings fields of hostvars_prefix and hostvars_suffix."""
    return {
        "hostvars_prefix": check_affix(options.get("hostvars_prefix"), "hostvars_prefix"),
        "hostvars_suffix": check_affix(options.get("hostvars_suffix"), "hostvars_suffix"),
    }
