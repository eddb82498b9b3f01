"""Unit tests for config.py: the validation of the raw inventory configuration.

Every refusal must be a ConfigError naming the key and a fix; every accepted form must come out
as the typed value the engine works from."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from ansible_collections.crossaccount.aws.plugins.module_utils import config as cfg
from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    merge_accounts,
    parse_accounts,
    parse_attributes,
    parse_filters,
    parse_hostnames,
    parse_shard,
    select_shard,
    shard_of,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from tests.support.settings import definitions, settings_from

# every option of the plugin: its DOCUMENTATION and the constructed and inventory_cache fragments
KNOWN_KEYS = list(definitions())
KNOWN_REGIONS = frozenset(
    {"us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2", "cn-north-1", "cn-northwest-1", "us-gov-west-1"}
)
KNOWN_ATTRIBUTES = frozenset({"instance_type", "private_ip_address", "state", "launch_time"})


def settings(text: str, **kw):
    """Settings of YAML text, the way the plugin computes them (pre-pass, core's options, build)."""
    return settings_from(
        yaml.safe_load(text),
        known_regions=KNOWN_REGIONS,
        known_attributes=KNOWN_ATTRIBUTES,
        **kw,
    )


def refused(text: str, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        settings(text, **kw)
    err = info.value
    assert "\n" not in str(err), "one line"
    assert err.fix, "every refusal says what to write instead"
    return err


BASE = 'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["111111111111"]\n'


# ---------------------------------------------------------------------------------------------
# accepted forms


def test_defaults():
    s = settings(BASE)
    assert s.accounts.explicit == (
        Account(id="111111111111", role_arn="arn:aws:iam::111111111111:role/CMDBDiscovery", source="accounts"),
    )
    assert s.scan.regions == () and s.scan.exclude_regions == ()
    assert [p.written for p in s.output.hostnames] == ["instance-id"]
    assert s.scan.attributes is None
    assert s.scan.max_workers == s.client.max_pool_connections == 128
    assert s.client.max_attempts == 10 and s.client.retry_mode == "standard"
    assert s.client.duration_seconds == 3600 and s.output.strict_errors is False and s.accounts.shard is None
    assert s.client.role_session_name == "crossaccount-inventory" and s.accounts.partition == "aws"
    assert s.scan.filters == (("instance-state-name", cfg.DEFAULT_STATES),)
    assert s.scan.describe_filters() == [{"Name": "instance-state-name", "Values": list(cfg.DEFAULT_STATES)}]


def test_every_account_form():
    s = settings(
        """
role_name: CMDBDiscovery
external_id: top-level-id
partition: aws
accounts:
  - "111111111111"
  - id: "222222222222"
    name: development
  - id: "333333333333"
    name: testing
    role_name: OtherRole
    external_id: example-external-id
    regions: [us-east-1, eu-west-1]
  - role_arn: arn:aws:iam::444444444444:role/path/CMDBDiscovery
  - id: " 555555555555 "
    role_arn: arn:aws:iam::555555555555:role/X
"""
    )
    by_id = {a.id: a for a in s.accounts.explicit}
    assert list(by_id) == ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"]
    assert by_id["111111111111"].external_id == "top-level-id" and by_id["111111111111"].name is None
    assert by_id["222222222222"].name == "development"
    third = by_id["333333333333"]
    assert third.role_arn == "arn:aws:iam::333333333333:role/OtherRole"
    assert third.external_id == "example-external-id"
    assert third.regions == ("us-east-1", "eu-west-1")
    assert by_id["444444444444"].role_arn == "arn:aws:iam::444444444444:role/path/CMDBDiscovery"
    assert by_id["444444444444"].partition == "aws"
    assert by_id["555555555555"].role_arn == "arn:aws:iam::555555555555:role/X"


def test_options_are_typed():
    s = settings(
        BASE
        + """
regions: [us-east-1, eu-west-1]
exclude_regions: [us-east-2]
sts_region: eu-west-1
max_workers: "32"
max_attempts: 3
retry_mode: adaptive
strict_errors: "yes"
duration_seconds: 900
shard: " 2 / 4 "
profile: cmdb
hostnames: tag:Name
attributes: [instance_type, state]
"""
    )
    assert s.scan.regions == ("us-east-1", "eu-west-1") and s.scan.exclude_regions == ("us-east-2",)
    assert s.client.sts_region == "eu-west-1"
    assert (s.scan.max_workers, s.client.max_attempts, s.client.retry_mode) == (32, 3, "adaptive")
    assert s.output.strict_errors is True and s.client.max_pool_connections == 32
    assert s.client.duration_seconds == 900 and s.accounts.shard == (2, 4) and s.client.profile == "cmdb"
    assert [p.written for p in s.output.hostnames] == ["tag:Name"]
    assert s.scan.attributes == ("instance_type", "state", "launch_time", "network_interfaces")


@pytest.mark.parametrize(
    ("written", "kinds"),
    [
        ("", ("account", "region", "name")),
        ("default_groups: []", ()),
        ("default_groups: [name, account]", ("account", "name")),
        ("default_groups: [region, region]", ("region",)),
        ("default_groups:", ("account", "region", "name")),
    ],
)
def test_default_groups(written, kinds):
    output = settings(BASE + written).output
    assert output.default_groups == kinds
    chose = bool(written) and written != "default_groups:"  # left empty: the default, not a choice
    assert output.default_groups_written is chose, "whether the file chose (the warning of many name_ groups)"


def test_attributes_keep_what_the_hostnames_read():
    s = settings(BASE + "hostnames: [private-ip-address, tag:Name]\nattributes: [instance_type]\n")
    assert s.scan.attributes == ("instance_type", "private_ip_address", "launch_time", "network_interfaces")


def test_partition_builds_role_arns():
    s = settings(BASE + "partition: aws-cn\nregions: [cn-north-1]\n")
    assert s.accounts.explicit[0].role_arn == "arn:aws-cn:iam::111111111111:role/CMDBDiscovery"
    assert s.accounts.explicit[0].partition == "aws-cn"
    assert s.accounts.role_arn_for("222222222222") == "arn:aws-cn:iam::222222222222:role/CMDBDiscovery"
    assert s.accounts.role_arn_for("222222222222", "Other") == "arn:aws-cn:iam::222222222222:role/Other"


def test_accounts_file_is_merged_and_explicit_entries_win():
    s = settings(
        BASE.replace('["111111111111"]', '[{id: "111111111111", name: explicit}]'),
        file_accounts=[{"id": "111111111111", "name": "from-file", "regions": ["eu-west-1"]}, "222222222222"],
    )
    assert [a.id for a in s.accounts.explicit] == ["111111111111", "222222222222"]
    first = s.accounts.explicit[0]
    assert first.name == "explicit" and first.source == "accounts"
    assert first.regions == ("eu-west-1",), "fields the explicit entry leaves open come from the file"
    assert s.accounts.explicit[1].source == "accounts_file"


def test_organization_only_needs_no_account_list():
    s = settings(
        """
role_name: CMDBDiscovery
organization:
  role_arn: arn:aws:iam::111111111111:role/OrgLister
  include_ous: [r-ab12]
  exclude_ous: [ou-ab12-cdefgh34]
  exclude_accounts: ["999999999999"]
"""
    )
    org = s.accounts.organization
    assert s.accounts.explicit == ()
    assert org.role_arn == "arn:aws:iam::111111111111:role/OrgLister"
    assert org.include_ous == ("r-ab12",) and org.exclude_ous == ("ou-ab12-cdefgh34",)
    assert org.exclude_accounts == ("999999999999",)
    assert settings("role_name: R\norganization: {}\n").accounts.organization == cfg.OrganizationSettings()
    # the option is a mapping (as documented, and as ansible-core's own type check wants it)
    assert refused("role_name: R\norganization: true\n").key == "organization"


# ---------------------------------------------------------------------------------------------
# refusals: (yaml text, key named, words of the fix)

REFUSED = [
    pytest.param("role_name: R\naccounts: [012345670123]", "accounts[0]", "in quotes", id="octal-id-misread-by-yaml"),
    pytest.param("role_name: R\naccounts: [123456789012]", "accounts[0]", "in quotes", id="unquoted-id"),
    pytest.param("role_name: R\naccounts: [1234_5678_9012]", "accounts[0]", "in quotes", id="underscored-id"),
    pytest.param('role_name: R\naccounts: ["12345"]', "accounts[0]", "exactly 12 digits", id="short-id"),
    pytest.param('role_name: R\naccounts: ["1234567890123"]', "accounts[0]", "exactly 12 digits", id="long-id"),
    pytest.param('role_name: R\naccounts: ["12345678901a"]', "accounts[0]", "exactly 12 digits", id="letters"),
    pytest.param("role_name: R\naccounts: [{id: 111111111111}]", "accounts[0].id", "in quotes", id="map-id-number"),
    pytest.param("role_name: R\naccounts: [[1]]", "accounts[0]", "12-digit", id="nested-list"),
    pytest.param(
        "accounts: [{role_arn: 'arn:aws:iam::1111:role/X'}]", "accounts[0].role_arn", "arn:aws:iam::", id="short-arn"
    ),
    pytest.param(
        "accounts: [{role_arn: 'arn:aws:iam::111111111111:user/X'}]",
        "accounts[0].role_arn",
        ":role/",
        id="user-arn",
    ),
    pytest.param("accounts: [{role_arn: 'CMDBDiscovery'}]", "accounts[0].role_arn", "arn:aws:iam::", id="name-as-arn"),
    pytest.param(
        "accounts: [{id: '111111111111', role_name: R, role_arn: 'arn:aws:iam::111111111111:role/R'}]",
        "accounts[0]",
        "keep one",
        id="role-name-and-arn",
    ),
    pytest.param(
        "accounts: [{id: '111111111111', role_arn: 'arn:aws:iam::222222222222:role/R'}]",
        "accounts[0]",
        "fix one of them",
        id="id-arn-mismatch",
    ),
    pytest.param('accounts: ["111111111111"]', "accounts[0]", "set role_name", id="no-role-plain"),
    pytest.param("accounts: [{id: '111111111111'}]", "accounts[0]", "set role_name", id="no-role-map"),
    pytest.param("role_name: R\naccounts: [{name: x}]", "accounts[0]", "add id", id="no-id"),
    pytest.param(
        "role_name: R\naccounts: [{id: '111111111111', role_name: 'a b'}]",
        "accounts[0].role_name",
        "role name only",
        id="bad-role-name",
    ),
    pytest.param("role_name: 'arn:aws:iam::1:role/R'\naccounts: ['111111111111']", "role_name", "role name only"),
    pytest.param(
        "role_name: R\nacounts: ['111111111111']", "acounts", "did you mean 'accounts'? write accounts", id="typo-top"
    ),
    pytest.param(
        "role_nmae: R\naccounts: ['111111111111']", "role_nmae", "did you mean 'role_name'", id="typo-role-name"
    ),
    pytest.param(
        "role_name: R\naccounts: [{id: '111111111111', role_nmae: X}]",
        "accounts[0].role_nmae",
        "write accounts[0].role_name instead",
        id="typo-in-entry",
    ),
    pytest.param("role_name: R\naccounts: ['111111111111']\nzzz: 1", "zzz", "ansible-doc", id="unknown-no-hint"),
    pytest.param(
        "role_name: R\naccounts: [{id: '111111111111', zzz: 1}]", "accounts[0].zzz", "one of: external_id, id"
    ),
    pytest.param(
        "role_name: R\naccounts: ['111111111111', {id: '111111111111'}]",
        "accounts[1]",
        "one entry per account",
        id="duplicate",
    ),
    pytest.param(
        "accounts: ['111111111111', {role_arn: 'arn:aws:iam::111111111111:role/R'}]\nrole_name: R",
        "accounts[1]",
        "one entry per account",
        id="duplicate-via-arn",
    ),
    pytest.param("role_name: R\naccounts: []", "accounts", "at least one account", id="empty-list"),
    pytest.param("role_name: R", "accounts", "accounts_file or organization", id="no-accounts"),
    pytest.param("role_name: R\naccounts: '111111111111'", "accounts", "one entry per line", id="accounts-string"),
    pytest.param("organization: {}", "role_name", "set role_name", id="org-without-role"),
    pytest.param("role_name: R\norganization: {include_ous: [ou-1]}", "organization.include_ous[0]", "ou-ab12"),
    pytest.param(
        "role_name: R\norganization: {exclude_accounts: [111111111111]}",
        "organization.exclude_accounts[0]",
        "in quotes",
    ),
    pytest.param("role_name: R\norganization: {role_arn: nope}", "organization.role_arn", "arn:aws:iam::"),
    pytest.param("role_name: R\norganization: {rolearn: x}", "organization.rolearn", "role_arn"),
    pytest.param("role_name: R\norganization: [a]", "organization", "organization: {}"),
    pytest.param(BASE + "regions: [eu-wset-1]", "regions[0]", "did you mean 'eu-west-1'", id="unknown-region"),
    pytest.param(BASE + "regions: [US-EAST-1]", "regions[0]", "such as us-east-1", id="upper-region"),
    pytest.param(BASE + "regions: us-east-1", "regions", "regions: [us-east-1]", id="regions-string"),
    pytest.param(BASE + "exclude_regions: [mars-north-1]", "exclude_regions[0]", "such as us-east-1"),
    pytest.param(BASE + "sts_region: eu-west-9", "sts_region[0]", "eu-west-1"),
    pytest.param(
        "role_name: R\naccounts: [{id: '111111111111', regions: [eu-wets-1]}]",
        "accounts[0].regions[0]",
        "eu-west-1",
        id="entry-region",
    ),
    pytest.param(BASE + "max_workers: 0", "max_workers", "from 1 to 256", id="workers-zero"),
    pytest.param(BASE + "max_workers: 1000", "max_workers", "from 1 to 256", id="workers-high"),
    pytest.param(BASE + "max_workers: many", "max_workers", "from 1 to 256", id="workers-text"),
    pytest.param(BASE + "max_workers: 2.5", "max_workers", "from 1 to 256", id="workers-float"),
    pytest.param(BASE + "max_workers: true", "max_workers", "from 1 to 256", id="workers-bool"),
    pytest.param(BASE + "max_attempts: 0", "max_attempts", "from 1 to 20"),
    pytest.param(BASE + "duration_seconds: 60", "duration_seconds", "from 900 to 43200"),
    pytest.param(BASE + "filters: [a, b]", "filters", "name: value pairs", id="filters-list"),
    pytest.param(BASE + "filters: 'tag:Env=prod'", "filters", "name: value pairs", id="filters-string"),
    pytest.param(BASE + "filters: {tag:Code: 0755}", "filters.tag:Code", 'tag:Code: "..."', id="filter-octal"),
    pytest.param(BASE + "filters: {tag:Version: 1.10}", "filters.tag:Version", "in quotes", id="filter-float"),
    pytest.param(BASE + "filters: {tag:Enabled: yes}", "filters.tag:Enabled", 'tag:Enabled: "..."', id="filter-bool"),
    pytest.param(BASE + "filters: {tag:Env: [prod, 1]}", "filters.tag:Env[1]", "in quotes", id="filter-list-int"),
    pytest.param(BASE + "filters: {tag:Env: []}", "filters.tag:Env", "value1", id="filter-empty"),
    pytest.param(BASE + "filters: {tag:Env: {a: b}}", "filters.tag:Env", "value1", id="filter-mapping"),
    pytest.param(BASE + "filters: {tag:Env: null}", "filters.tag:Env", "value1", id="filter-null"),
    pytest.param(BASE + "hostnames: [tag-name]", "hostnames[0]", "tag:KEY", id="hostname"),
    pytest.param(BASE + "hostnames: [instance_id]", "hostnames[0]", "did you mean 'instance-id'"),
    pytest.param(BASE + "attributes: [instance_typ]", "attributes[0]", "did you mean 'instance_type'"),
    pytest.param(BASE + "attributes: instance_type", "attributes", "attributes: [instance_type"),
    pytest.param(BASE + "retry_mode: fast", "retry_mode", "standard, adaptive, legacy"),
    pytest.param(BASE + "default_groups: [account, names]", "default_groups[1]", "did you mean 'name'"),
    pytest.param(BASE + "default_groups: [account, tag]", "default_groups[1]", "account, region, name"),
    pytest.param(BASE + "default_groups: account", "default_groups", "default_groups: [account"),
    pytest.param(BASE + "default_groups: [account, {name: x}]", "default_groups[1]", "account, region, name"),
    pytest.param(BASE + "default_groups: [1]", "default_groups[0]", "account, region, name"),
    pytest.param(BASE + "default_groups: [null]", "default_groups[0]", "account, region, name"),
    pytest.param(BASE + "default_groups: {account: true}", "default_groups", "YAML list"),
    pytest.param(BASE + "strict_errors: maybe", "strict_errors", "strict_errors: true"),
    pytest.param(BASE + "shard: 5/4", "shard", "1 <= k <= n"),
    pytest.param(BASE + "shard: half", "shard", '"1/4"'),
    pytest.param(BASE + "partition: aws-us-gwo", "partition", "did you mean 'aws-us-gov'"),
    pytest.param(BASE + "role_session_name: 'a b'", "role_session_name", "2-64"),
    pytest.param(BASE + "external_id: 'a'", "external_id", "trust policy"),
    pytest.param(BASE + "profile: 12", "profile", 'write it in quotes exactly as you meant it, e.g. profile: "..."'),
    pytest.param(BASE + "profile: {a: b}", "profile", "single quoted string"),
    pytest.param(BASE + 'profile: ""', "profile", "remove profile", id="profile-empty"),
    pytest.param(BASE + 'profile: "  "', "profile", "remove profile", id="profile-blank"),
    pytest.param(BASE + 'profile: "dev\\n"', "profile", "aws configure list-profiles", id="profile-newline"),
    pytest.param("- a\n- b", "(file)", "plugin: crossaccount.aws.ec2", id="not-a-mapping"),
]


# Issue 10 §4: AWS's own character sets, ASCII and matched whole; configurations that scan nothing.
REFUSED += [
    pytest.param(
        'role_name: R\naccounts: ["１１１１１１１１１１１１"]', "accounts[0]", "exactly 12 digits", id="fullwidth-id"
    ),
    pytest.param('role_name: R\naccounts: ["١١١١١١١١١١١١"]', "accounts[0]", "exactly 12 digits", id="arabic-id"),
    pytest.param('role_name: R\naccounts: ["111111111111\\n"]', "accounts[0]", "exactly 12 digits", id="id-newline"),
    pytest.param('role_name: R\naccounts: ["111111111111\\t"]', "accounts[0]", "exactly 12 digits", id="id-tab"),
    pytest.param('role_name: R\naccounts: ["111111111111\\u00a0"]', "accounts[0]", "exactly 12 digits", id="id-nbsp"),
    pytest.param(
        'role_name: R\naccounts: [{id: "11111111111\\u0661"}]', "accounts[0].id", "exactly 12 digits", id="map-id"
    ),
    pytest.param("role_name: CMDBDіscovery\naccounts: ['111111111111']", "role_name", "role name only", id="cyrillic"),
    pytest.param('role_name: "R\\n"\naccounts: ["111111111111"]', "role_name", "role name only", id="name-newline"),
    pytest.param("role_name: Rôle\naccounts: ['111111111111']", "role_name", "role name only", id="name-accent"),
    pytest.param(
        "accounts: [{role_arn: 'arn:aws:iam::１１１１１１１１１１１１:role/X'}]",
        "accounts[0].role_arn",
        "arn:aws:iam::",
        id="arn-fullwidth",
    ),
    pytest.param(
        'accounts: [{role_arn: "arn:aws:iam::111111111111:role/X\\n"}]',
        "accounts[0].role_arn",
        "arn:aws:iam::",
        id="arn-newline",
    ),
    pytest.param(
        "accounts: [{role_arn: 'arn:aws:iam::111111111111:role/Ⅹ'}]",
        "accounts[0].role_arn",
        "arn:aws:iam::",
        id="arn-roman",
    ),
    pytest.param(BASE + 'role_session_name: "ab\\n"', "role_session_name", "2-64", id="session-newline"),
    pytest.param(BASE + "role_session_name: séance", "role_session_name", "2-64", id="session-accent"),
    pytest.param(BASE + 'external_id: "abc\\n"', "external_id", "trust policy", id="external-id-newline"),
    pytest.param(BASE + "external_id: ехт-id", "external_id", "trust policy", id="external-id-cyrillic"),
    pytest.param(BASE + 'regions: ["us-east-1\\n"]', "regions[0]", "such as us-east-1", id="region-newline"),
    pytest.param(BASE + "regions: [us-east-１]", "regions[0]", "such as us-east-1", id="region-fullwidth"),
    pytest.param(
        "role_name: R\norganization: {include_ous: ['ou-ab12-cdefgh34\\n']}",
        "organization.include_ous[0]",
        "ou-ab12",
        id="ou-newline",
    ),
    pytest.param(
        "role_name: R\norganization: {exclude_accounts: ['１１１１１１１１１１１１']}",
        "organization.exclude_accounts[0]",
        "exactly 12 digits",
        id="exclude-account-fullwidth",
    ),
    pytest.param(BASE + 'shard: "１/２"', "shard", '"1/4"', id="shard-fullwidth"),
    pytest.param(BASE + 'shard: "1/2\\n"', "shard", '"1/4"', id="shard-newline"),
    pytest.param(BASE + 'max_workers: "１６"', "max_workers", "from 1 to 256", id="workers-fullwidth"),
    pytest.param(
        BASE + "regions: [us-east-1, eu-west-1]\nexclude_regions: [eu-west-1, us-east-1]",
        "exclude_regions",
        "remove those regions",
        id="exclude-every-region",
    ),
    pytest.param(
        "role_name: R\naccounts: ['111111111111', {id: '222222222222', regions: [eu-west-1]}]\n"
        "exclude_regions: [eu-west-1]",
        "accounts[1].regions",
        "remove those regions",
        id="exclude-every-region-of-an-account",
    ),
]


CN_ARN = '{role_arn: "arn:aws-cn:iam::222222222222:role/R"}'
# a region of another partition than the accounts that use it
REFUSED += [
    pytest.param(BASE + "sts_region: cn-north-1", "sts_region", "write a region of aws", id="sts-region"),
    pytest.param(BASE + "regions: [us-east-1, cn-north-1]", "regions[1]", "write partition: aws-cn", id="regions"),
    pytest.param(BASE + "partition: aws-cn\nregions: [us-east-1]", "partition", "write partition: aws", id="partition"),
    pytest.param(
        BASE + "partition: aws-us-gov\nregions: [us-east-1]", "partition", "such as us-gov-west-1", id="gov-us-region"
    ),
    pytest.param(
        BASE.replace('"111111111111"', CN_ARN) + "regions: [us-east-1]",
        "accounts[0]",
        "regions of aws-cn",
        id="role-arn",
    ),
    pytest.param(
        BASE.replace('"111111111111"', '{id: "111111111111", regions: [cn-north-1]}'),
        "accounts[0].regions[0]",
        "regions of aws",
        id="account-regions",
    ),
    pytest.param("role_name: R\norganization: {}\nregions: [cn-north-1]", "regions[0]", "partition: aws-cn", id="org"),
    pytest.param(
        BASE.replace('"111111111111"', f'"111111111111", {CN_ARN}') + "sts_region: us-east-1",
        "sts_region",
        "a region of aws-cn",
        id="sts-region-mixed-partitions",
    ),
]


@pytest.mark.parametrize(("text", "key", "fix"), REFUSED)
def test_refused(text, key, fix):
    err = refused(text)
    assert err.key == key, str(err)
    assert fix in err.fix, str(err)
    assert str(err).startswith(f"{key}: "), "the line starts with the key"
    assert len(str(err)) < 300, "compact"


SECRETS = [
    ("aws_secret_access_key: {v}\n" + BASE, "aws_secret_access_key"),
    ("aws_access_key_id: {v}\n" + BASE, "aws_access_key_id"),
    ("AWS_SESSION_TOKEN: {v}\n" + BASE, "AWS_SESSION_TOKEN"),
    ("secret_key: {v}\n" + BASE, "secret_key"),
    (
        "role_name: R\naccounts: [{{id: '111111111111', aws_secret_access_key: {v}}}]",
        "accounts[0].aws_secret_access_key",
    ),
    ("role_name: R\norganization: {{session_token: {v}}}", "organization.session_token"),
]


@pytest.mark.parametrize(("text", "key"), SECRETS)
def test_secret_keys_are_refused_and_never_echoed(text, key):
    value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
    err = refused(text.format(v=value))
    assert err.key == key
    assert "not accepted in an inventory file" in err.problem
    assert "profile" in err.fix and "instance role" in err.fix
    assert value not in str(err)


def test_secret_keys_in_accounts_file_are_refused():
    err = refused(BASE, file_accounts=[{"id": "222222222222", "aws_session_token": "tok"}])
    assert err.key == "accounts_file[0].aws_session_token"


def test_secret_check_leaves_user_named_keys_alone():
    s = settings(BASE + 'compose: {secret_key_hint: "1"}\nfilters: {"tag:access_key_owner": alice}\n')
    assert ("tag:access_key_owner", ("alice",)) in s.scan.filters


def test_secret_check_comes_before_unknown_keys():
    # the pointer to profiles is more useful than "unknown key"
    err = refused("aws_access_key: AKIAEXAMPLE\n" + BASE)
    assert "not accepted" in err.problem


ODD_VALUES = [None, True, 0, -1, 1.5, "", "x", "1/2", [], [None], [1], [""], {}, {"a": None}, {1: 2}, [[1]], [{}]]


def test_any_odd_value_gives_a_config_error_never_a_crash():
    """Every option and every account-entry field, given values of every YAML type: the result is
    valid settings or a ConfigError, never a TypeError/AttributeError (a traceback for the user)."""
    tried = 0
    for key in [*KNOWN_KEYS, "organization"]:
        for value in ODD_VALUES:
            raw = {"role_name": "R", "accounts": ["111111111111"], key: value}
            try:
                settings_from(raw, known_regions=KNOWN_REGIONS, file_accounts=value)
            except ConfigError:
                pass
            tried += 1
    for field in cfg.ACCOUNT_KEYS:
        for value in ODD_VALUES:
            for entry in ({"id": "111111111111"}, {"role_arn": "arn:aws:iam::111111111111:role/R"}):
                try:
                    s = settings_from(
                        {"role_name": "R", "accounts": [{**entry, field: value}]}, known_regions=KNOWN_REGIONS
                    )
                except ConfigError:
                    continue
                (account,) = s.accounts.explicit
                assert f"::{account.id}:role/" in account.role_arn, "the role is always in the account scanned"
                tried += 1
    for field in cfg.ORGANIZATION_KEYS:
        for value in ODD_VALUES:
            try:
                settings_from({"role_name": "R", "organization": {field: value}})
            except ConfigError:
                pass
            tried += 1
    assert tried > 600


def test_account_name_must_be_text():
    with pytest.raises(ConfigError) as info:
        settings("role_name: R\naccounts: [{id: '111111111111', name: yes}]")
    assert info.value.key == "accounts[0].name"
    assert settings("role_name: R\naccounts: [{id: '111111111111', name: 2024}]").accounts.explicit[0].name == "2024"


# ---------------------------------------------------------------------------------------------
# parse_accounts / merge_accounts


def _accounts(entries, **kw):
    base = dict(key="accounts", default_role="R", default_external_id=None, partition="aws")
    base.update(kw)
    return parse_accounts(entries, **base)


def test_parse_accounts_none_and_source():
    assert _accounts(None) == ()
    (acct,) = _accounts(["111111111111"], source="accounts_file", default_external_id="ext")
    assert acct.source == "accounts_file" and acct.external_id == "ext"
    assert acct.role_arn == "arn:aws:iam::111111111111:role/R"


def test_parse_accounts_names_the_key_of_the_source():
    with pytest.raises(ConfigError) as info:
        _accounts(["111111111111", 5], key="accounts_file")
    assert info.value.key == "accounts_file[1]"


def test_parse_accounts_without_known_regions_checks_the_shape_only():
    (acct,) = _accounts([{"id": "111111111111", "regions": ["xx-new-7"]}], known_regions=None)
    assert acct.regions == ("xx-new-7",)
    with pytest.raises(ConfigError):
        _accounts([{"id": "111111111111", "regions": ["not a region"]}], known_regions=None)


def test_empty_regions_list_means_the_global_setting():
    (acct,) = _accounts([{"id": "111111111111", "regions": []}])
    assert acct.regions is None


def test_merge_accounts_precedence_and_order():
    explicit = (Account(id="222222222222", role_arn="arn:aws:iam::222222222222:role/Explicit", name=None),)
    from_file = (
        Account(id="222222222222", role_arn="arn:aws:iam::222222222222:role/File", name="dev", external_id="x"),
        Account(id="111111111111", role_arn="arn:aws:iam::111111111111:role/File", source="accounts_file"),
    )
    discovered = (
        Account(id="222222222222", role_arn="arn:aws:iam::222222222222:role/Org", name="org-name", regions=("a",)),
        Account(id="333333333333", role_arn="arn:aws:iam::333333333333:role/Org", source="organization"),
    )
    merged = merge_accounts(explicit, from_file, discovered)
    assert [a.id for a in merged] == ["111111111111", "222222222222", "333333333333"]
    dev = merged[1]
    assert dev.role_arn.endswith("role/Explicit"), "the first source's role wins"
    assert dev.name == "dev" and dev.external_id == "x" and dev.regions == ("a",), "open fields are filled in order"
    assert dev.source == "accounts"
    assert merge_accounts() == ()


# ---------------------------------------------------------------------------------------------
# shard, filters, hostnames, attributes


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("1/1", (1, 1)), (" 3 / 10 ", (3, 10))])
def test_parse_shard(value, expected):
    assert parse_shard(value) == expected


@pytest.mark.parametrize("value", ["0/4", "5/4", "1/0", "1/10001", "1", "a/b", "1/2/3", 3])
def test_parse_shard_refused(value):
    with pytest.raises(ConfigError) as info:
        parse_shard(value)
    assert info.value.key == "shard"


def test_shard_of_is_stable_and_in_range():
    # a stable hash (SHA-256 of the id), never Python's per-process hash()
    for account in ("000000000001", "999999999999"):
        expected = int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big") % 7 + 1
        assert shard_of(account, 7) == expected
        assert 1 <= shard_of(account, 7) <= 7
    accounts = [Account(id=f"{n:012d}", role_arn="r") for n in range(50)]
    parts = [select_shard(accounts, (k, 3)) for k in (1, 2, 3)]
    assert sorted(a.id for p in parts for a in p) == sorted(a.id for a in accounts)
    assert select_shard(accounts, None) == tuple(accounts)


def test_filters():
    assert parse_filters(None) == (("instance-state-name", cfg.DEFAULT_STATES),)
    f = parse_filters({"tag:Environment": "prod", "instance-type": ["t3.micro", "m5.large"]})
    assert f == (
        ("tag:Environment", ("prod",)),
        ("instance-type", ("t3.micro", "m5.large")),
        ("instance-state-name", cfg.DEFAULT_STATES),
    )
    assert parse_filters({"instance-state-name": "running"}) == (("instance-state-name", ("running",)),)
    with pytest.raises(ConfigError) as info:
        parse_filters({5: "x"})
    assert info.value.key == "filters"


def test_hostnames():
    def written(value):
        return [p.written for p in parse_hostnames(value)]

    assert written(None) == written([]) == ["instance-id"]  # [] is aws_ec2's default list too
    assert written("dns-name") == ["dns-name"]
    names = ["tag:Name", "private-ip-address", "instance-id"]
    assert written(names) == names
    for bad in (["tag:"], [5], {"a": 1}, ["tag:Name | lower"], ["tag-key"]):
        with pytest.raises(ConfigError):
            parse_hostnames(bad)


def test_attributes():
    assert parse_attributes(None, KNOWN_ATTRIBUTES) is None
    assert parse_attributes([], KNOWN_ATTRIBUTES) == ()
    assert parse_attributes(["state"], KNOWN_ATTRIBUTES) == ("state",)
    assert parse_attributes(["anything"], None) == ("anything",), "without a model the names are not checked"
    with pytest.raises(ConfigError) as info:
        parse_attributes(["state", 5], KNOWN_ATTRIBUTES)
    assert info.value.key == "attributes[1]"


# ---------------------------------------------------------------------------------------------
# options of the constructed and inventory_cache fragments: checked from core's definitions too

FRAGMENT_REFUSED = [
    pytest.param(BASE + "cache: maybe", "cache", "cache: true or cache: false", id="cache-bool"),
    pytest.param(BASE + "cache_timeout: soon", "cache_timeout", "write a number from 0 to", id="cache-timeout"),
    pytest.param(BASE + "cache_timeout: -5", "cache_timeout", "from 0 to 315360000", id="cache-timeout-negative"),
    pytest.param(BASE + "cache_timeout: 315360001", "cache_timeout", "from 0 to", id="cache-timeout-huge"),
    pytest.param(BASE + "cache_plugin: 5", "cache_plugin", 'cache_plugin: "..."', id="cache-plugin-number"),
    pytest.param(BASE + "compose: [a]", "compose", "key: value pairs", id="compose-list"),
    pytest.param(BASE + "keyed_groups: [instance_type]", "keyed_groups[0]", "key: value pairs", id="keyed-groups"),
    pytest.param(BASE + "keyed_groups: {key: x}", "keyed_groups", "YAML list", id="keyed-groups-mapping"),
    pytest.param(BASE + "strict: sometimes", "strict", "strict: true", id="strict"),
    pytest.param(BASE + "leading_separator: maybe", "leading_separator", "leading_separator: true", id="boolean"),
    pytest.param(BASE + "plugin: amazon.aws.aws_ec2", "plugin", "plugin: crossaccount.aws.ec2", id="other-plugin"),
]


@pytest.mark.parametrize(("text", "key", "fix"), FRAGMENT_REFUSED)
def test_fragment_options_are_refused_in_one_line(text, key, fix):
    if key == "plugin":
        text = text.replace("plugin: crossaccount.aws.ec2\n", "")
    err = refused(text)
    assert err.key == key, str(err)
    assert fix in err.fix, str(err)
    assert str(err).startswith(f"{key}: ") and len(str(err)) < 300


@pytest.mark.parametrize("content", [None, []])  # {accounts: []} is unwrapped by the plugin: see test_bad_input
def test_accounts_file_listing_no_account_is_refused(content):
    err = refused(BASE.replace('accounts: ["111111111111"]', "accounts_file: accounts.yml"), file_accounts=content)
    assert err.key == "accounts_file" and "lists no account" in err.problem


def test_exclude_regions_that_leave_something_are_accepted():
    s = settings(BASE + "regions: [us-east-1, eu-west-1]\nexclude_regions: [eu-west-1]")
    assert s.scan.regions == ("us-east-1", "eu-west-1") and s.scan.exclude_regions == ("eu-west-1",)
    # with regions from DescribeRegions, excluding is checked per account at scan time (NoRegionsToScan)
    assert settings(BASE + "exclude_regions: [eu-west-1, us-east-1]").scan.exclude_regions


def test_shard_of_never_crashes_on_an_id_that_slipped_through():
    assert 1 <= shard_of("１１１１１１１１１１１１", 4) <= 4
    # the same shard as before for every valid id (its UTF-8 bytes are its ASCII bytes)
    assert shard_of("111111111111", 4) == int.from_bytes(hashlib.sha256(b"111111111111").digest()[:8], "big") % 4 + 1


def test_a_refused_value_is_echoed_bounded_and_on_one_line():
    err = refused("role_name: R\naccounts: [" + repr("1" * 5000 + "\n") + "]")
    assert len(str(err)) < 1000 and "\n" not in str(err)


# ---------------------------------------------------------------------------------------------
# the identity of Organizations discovery (the cache fingerprint)

ORG = "plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\n"
ENV_A, ENV_B = {"AWS_PROFILE": "org-a"}, {"AWS_PROFILE": "org-b"}


@pytest.mark.parametrize(
    "text, environ, identity",
    [
        (ORG + "organization: {}\nprofile: org-a\n", {}, ("profile", "org-a")),
        (ORG + "organization: {}\nprofile: org-a\n", ENV_B, ("profile", "org-a")),  # the file's profile wins
        (ORG + "organization: {}\n", ENV_A, ("profile", "org-a")),
        (ORG + "organization: {}\n", {"AWS_DEFAULT_PROFILE": "d", "AWS_PROFILE": "p"}, ("profile", "d")),  # botocore
        (ORG + "organization: {}\n", {}, ("profile", None)),  # the default chain
        (
            ORG + "organization: {role_arn: 'arn:aws:iam::999999999999:role/OrgReader'}\nprofile: org-a\n",
            ENV_B,
            ("role_arn", "arn:aws:iam::999999999999:role/OrgReader"),
        ),
        (BASE + "profile: org-a\n", ENV_B, None),  # explicit accounts: their role ARNs name them
    ],
)
def test_discovery_identity(text, environ, identity):
    assert settings(text).discovery_identity(environ) == identity


def test_discovery_identity_never_holds_keys():
    environ = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "t0k3n"}
    identity = settings(ORG + "organization: {}\n").discovery_identity(environ)
    assert identity == ("profile", None)
    assert not {"AKIAEXAMPLE", "s3cr3t", "t0k3n"} & set(map(str, identity))


def test_every_option_type_is_checked():
    """Every type an option declares (its DOCUMENTATION or a doc fragment, in any of ansible-core's
    spellings: "boolean" for "bool") has a check: a value of the wrong type is never silently read."""
    own = cfg.OWN_TYPE_CHECK
    unchecked = {
        name: d.get("type", "str")
        for name, d in definitions().items()
        if name not in own and d.get("type", "str") not in cfg._TYPE_CHECKS
    }
    assert unchecked == {}


@pytest.mark.parametrize(
    ("content", "key", "words"),
    [
        ({"accounts": ["111111111111"], "regions": ["eu-west-1"]}, "accounts_file.regions", "only accounts:"),
        ({"acounts": ["111111111111"]}, "accounts_file.acounts", "did you mean 'accounts'?"),
        (
            {"accounts": ["111111111111"], "aws_secret_access_key": "wJalrXUtnFEMI"},
            "accounts_file.aws_secret_access_key",
            "not accepted",
        ),
    ],
)
def test_an_accounts_file_mapping_holds_only_accounts(content, key, words):
    with pytest.raises(ConfigError) as info:
        cfg.accounts_file_entries(content)
    err = info.value
    assert err.key == key and words in str(err) and "\n" not in str(err), str(err)
    assert "wJalrXUtnFEMI" not in str(err), "a secret's value is never echoed"


def test_an_accounts_file_list_or_accounts_mapping_gives_its_entries():
    assert cfg.accounts_file_entries(["111111111111"]) == ["111111111111"]
    assert cfg.accounts_file_entries({"accounts": ["111111111111"]}) == ["111111111111"]
    assert cfg.accounts_file_entries(None) is None


def test_regions_of_the_accounts_partitions_are_accepted():
    settings(BASE + "partition: aws-cn\nregions: [cn-north-1]\nsts_region: cn-northwest-1")
    settings(BASE + "partition: aws-us-gov\nregions: [us-gov-west-1]")
    # each account in its own partition, with its own regions
    settings(
        BASE.replace('"111111111111"', f'{{id: "111111111111", regions: [us-east-1]}}, {CN_ARN}')
        + "regions: [cn-north-1]"
    )
    # excluding a region of another partition changes nothing
    settings(BASE + "regions: [us-east-1]\nexclude_regions: [cn-north-1]")
    # a region no partition pattern knows (a new prefix) is left to AWS: not refused for its partition
    cfg.check_partitions({"regions": ["zz-east-1"]}, "aws", [("accounts", settings(BASE).accounts.explicit)])


# A key that only looks like an option (a Cyrillic letter, a no-break or zero-width space, a space
# at its end) was printed as is: "rоle_name: unknown key; did you mean 'role_name'? write role_name
# instead", a line that names the key it suggests. The key is shown escaped, the odd character named.
@pytest.mark.parametrize(
    ("text", "key", "oddity", "fix"),
    [
        pytest.param(
            BASE + "rоle_session_name: x",
            "'r\\u043ele_session_name'",
            "character 2 is \\u043e, CYRILLIC SMALL LETTER O",
            "write role_session_name instead in plain ASCII",
            id="cyrillic-o",
        ),
        pytest.param(
            BASE + '"max_workers ": 3',
            "'max_workers '",
            "it has spaces around it",
            "write max_workers instead without the spaces",
            id="trailing-space",
        ),
        pytest.param(
            BASE + '"max\\u200bworkers": 3',
            "'max\\u200bworkers'",
            "ZERO WIDTH SPACE",
            "write max_workers instead in plain ASCII",
            id="zero-width-space",
        ),
        pytest.param(
            BASE + 'organization: {"role_arn\\u00a0": "arn:aws:iam::111111111111:role/R"}',
            "organization.'role_arn\\xa0'",
            "NO-BREAK SPACE",
            "write organization.role_arn instead in plain ASCII",
            id="organization-nbsp",
        ),
        pytest.param(
            "role_name: R\naccounts: [{id: '111111111111', rеgions: [us-east-1]}]",
            "accounts[0].'r\\u0435gions'",
            "CYRILLIC SMALL LETTER IE",
            "write accounts[0].regions instead in plain ASCII",
            id="account-entry",
        ),
    ],
)
def test_a_look_alike_key_is_shown_escaped_with_its_odd_character(text, key, oddity, fix):
    err = refused(text)
    assert err.key == key, str(err)
    assert oddity in err.problem and fix in err.fix, str(err)
    assert str(err).isascii() and "\n" not in str(err) and len(str(err)) < 300, str(err)


def test_a_look_alike_key_of_an_accounts_file_mapping_is_shown_escaped():
    with pytest.raises(ConfigError) as info:
        cfg.accounts_file_entries({"accоunts": ["111111111111"]})
    err = info.value
    assert err.key == "accounts_file.'acc\\u043eunts'", str(err)
    assert "CYRILLIC SMALL LETTER O" in err.problem and "did you mean 'accounts'?" in err.fix, str(err)


def test_a_plain_unknown_key_is_shown_as_written():
    err = refused(BASE + "acounts_x: 1")
    assert err.key == "acounts_x" and err.problem == "unknown key", str(err)


# organization.role_arn: "" was read as no role: the accounts were listed with the controller's own
# credentials, while " " (and any other malformed ARN) was refused
@pytest.mark.parametrize("written", ['""', '" "'])
def test_an_empty_organization_role_arn_is_refused(written):
    err = refused(BASE + f"organization: {{role_arn: {written}}}")
    assert err.key == "organization.role_arn" and err.problem == "is empty", str(err)
    assert "remove organization.role_arn" in err.fix and "arn:aws:iam::" in err.fix, str(err)


def test_an_organization_role_arn_left_out_or_null_lists_with_the_controllers_credentials():
    assert cfg.parse_organization({}).role_arn is None
    assert cfg.parse_organization({"role_arn": None}).role_arn is None


# organization.exclude_accounts written as "", {}, false or 0 excluded no account without a word (read
# with `or []`); a string id or a mapping was refused. Now anything but a list (or null) is refused.
@pytest.mark.parametrize(
    ("written", "got"), [('""', "a string"), ("{}", "a mapping"), ("false", "a boolean"), ("0", "a number")]
)
def test_organization_exclude_accounts_that_is_not_a_list_is_refused(written, got):
    err = refused(BASE + f"organization: {{exclude_accounts: {written}}}")
    assert err.key == "organization.exclude_accounts" and err.problem == f"expected a list, got {got}", str(err)
    assert 'exclude_accounts: ["123456789012"]' in err.fix, str(err)


@pytest.mark.parametrize("written", ["~", "[]"])
def test_organization_exclude_accounts_null_or_empty_excludes_nothing(written):
    assert cfg.parse_organization({"exclude_accounts": None if written == "~" else []}).exclude_accounts == ()


# A number or boolean YAML read where a string belongs was suggested back as the text to write:
# "external_id: 0123456" gave 'write it quoted, e.g. external_id: "42798"' (0123456 is octal to YAML),
# and following it sends another external id. The value read is shown as what YAML read, never as the fix.
@pytest.mark.parametrize(
    ("written", "key", "read"),
    [
        pytest.param("external_id: 0123456", "external_id", "42798", id="octal"),
        pytest.param("role_session_name: 12:30", "role_session_name", "750", id="sexagesimal"),
        pytest.param("profile: 0x1F", "profile", "31", id="hex"),
        pytest.param("organization: {external_id: 01234567}", "organization.external_id", "342391", id="organization"),
        pytest.param("regions: [us-east-1, 0755]", "regions[1]", "493", id="list-item"),
        pytest.param("profile: yes", "profile", "True", id="boolean"),
    ],
)
def test_a_misread_number_is_never_suggested_as_the_value_to_write(written, key, read):
    err = refused(BASE + written)
    assert err.key == key, str(err)
    assert f"({read}), which may differ from what you wrote" in err.problem, str(err)
    assert "exactly as you meant it" in err.fix and read not in err.fix, str(err)


# hostnames as one string or a mapping: the pre-pass read a string as one entry and accepted a
# mapping, while ansible-core's list type splits a string at each comma and refuses a mapping, so
# "tag:Name,Env" (one entry in aws_ec2's grammar) was refused as "hostnames[1]: unknown hostname
# source 'Env'", "tag:Name, instance-id" passed and became two entries, and a mapping got core's
# message naming neither the key nor the fix.
@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ('hostnames: "tag:Name,Env"', "is one string, which ansible-core splits at each comma"),
        ('hostnames: "tag:Name, instance-id"', "is one string, which ansible-core splits at each comma"),
        ("hostnames: {name: private-ip-address, prefix: tag:Name}", "expected a list, got a mapping"),
    ],
)
def test_hostnames_the_pre_pass_and_ansible_core_would_read_differently_are_refused(written, problem):
    err = refused(BASE + written)
    assert err.key == "hostnames" and problem in err.problem, str(err)
    assert "hostnames: [" in err.fix, str(err)


def test_hostnames_as_one_string_without_a_comma_is_one_entry():
    assert [p.written for p in settings(BASE + "hostnames: private-ip-address").output.hostnames] == [
        "private-ip-address"
    ]
    assert [p.written for p in settings(BASE + 'hostnames: ["tag:Name,Env"]').output.hostnames] == ["tag:Name,Env"]


def test_every_range_of_an_option_of_this_plugin_is_in_its_documentation():
    """ansible-doc shows what the checks refuse: max_attempts: 25 was refused as out of range (1 to
    20) while ansible-doc gave only "type int, default 10" (also connect_timeout, read_timeout). The
    fragments' options (cache_timeout) are described by ansible-core; docs/bad-input.md gives that range."""
    import yaml as _yaml

    from ansible_collections.crossaccount.aws.plugins.inventory import ec2

    own = _yaml.safe_load(ec2.DOCUMENTATION)["options"]
    missing = {}
    for name, (low, high) in cfg.RANGES.items():
        if name not in own:
            continue
        description = own[name]["description"]
        text = " ".join(description if isinstance(description, list) else [description])
        if f"{low} to {high}" not in text:
            missing[name] = f"{low} to {high}"
    assert missing == {}


# organization.external_id goes only with the AssumeRole of organization.role_arn: without a role_arn
# it was accepted and sent nowhere (the accounts' roles take the top-level external_id)
def test_organization_external_id_without_role_arn_is_refused():
    err = refused(BASE + "organization: {external_id: example-external-id}")
    assert err.key == "organization.external_id" and "without organization.role_arn" in err.problem, str(err)
    assert "add organization.role_arn" in err.fix and "top-level external_id" in err.fix, str(err)


def test_organization_external_id_with_role_arn_is_kept():
    org = cfg.parse_organization(
        {"role_arn": "arn:aws:iam::111111111111:role/OrgReader", "external_id": "example-external-id"}
    )
    assert org.external_id == "example-external-id"


# A look-alike value of an option with choices was printed as is: "partition: unknown value 'аws';
# did you mean 'aws'?" (a Cyrillic а) read like the choice it suggested.
@pytest.mark.parametrize(
    ("written", "key", "shown"),
    [
        ("partition: аws", "partition", "unknown value '\\u0430ws' (character 1 is \\u0430, CYRILLIC SMALL LETTER A"),
        ("default_groups: [аccount, region]", "default_groups[0]", "unknown value '\\u0430ccount' (character 1"),
        ('retry_mode: "standard "', "retry_mode", "unknown value 'standard ' (it has spaces around it)"),
    ],
)
def test_a_look_alike_choice_is_shown_escaped_with_its_odd_character(written, key, shown):
    err = refused(BASE + written)
    assert err.key == key and err.problem.startswith(shown), str(err)
    assert "did you mean" in err.fix and str(err).isascii(), str(err)


def test_a_plain_unknown_choice_is_shown_as_written():
    err = refused(BASE + "retry_mode: standrd")
    assert err.problem == "unknown value 'standrd'", str(err)
