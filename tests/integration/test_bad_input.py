"""Bad input through the real ansible-inventory CLI: one table, one run per malformed configuration.

Each run asserts: one line naming the key and the fix, folded into ansible-core's own
"Failed to parse ... with 'auto' plugin" warning and printed once; no traceback; a non-zero exit
with ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true; and no AWS call at all (the fault layer in
front of the stand-in counts every request), so a misread account is never queried.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from tests.support import cli

OUR_PREFIX = "crossaccount.aws.ec2 configuration error in "
OK = 'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["111111111111"]\nregions: [us-east-1]\n'


@dataclass(frozen=True)
class Case:
    config: str
    key: str  # the key the line names
    fix: str  # words of what to write instead
    also: str = ""  # more text the line must hold
    accounts_file: str | None = None  # written next to the inventory file as accounts.yml
    only_our_plugin: bool = False  # ANSIBLE_INVENTORY_ENABLED=crossaccount.aws.ec2 (the documented quiet setting)
    env: tuple[tuple[str, str], ...] = ()  # more environment of the run
    ansible_cfg: str | None = None  # written next to the inventory file as ansible.cfg (ANSIBLE_CONFIG); {dir} in key


CASES = {
    # YAML 1.1 reads 012345670123 as octal 1402433619: the account must not be queried, not even the good one
    "octal-account-id": Case(
        'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["111111111111", 012345670123]\n',
        "accounts[1]",
        'write the 12-digit id in quotes, e.g. "012345678901"',
        also="1402433619 is an unquoted number",
    ),
    "id-not-12-digits": Case(OK.replace('"111111111111"', '"11111111111"'), "accounts[0]", "exactly 12 digits"),
    "role-arn-malformed": Case(
        OK.replace('"111111111111"', '{role_arn: "arn:aws:iam::4444:role/CMDBDiscovery"}'),
        "accounts[0].role_arn",
        "write arn:aws:iam::<12-digit account id>:role/<role name>",
    ),
    "role-name-and-role-arn": Case(
        OK.replace(
            '"111111111111"', '{id: "111111111111", role_name: A, role_arn: "arn:aws:iam::111111111111:role/B"}'
        ),
        "accounts[0]",
        "keep one: role_arn for a full ARN, role_name for a role in this account",
    ),
    "no-role": Case(
        OK.replace("role_name: CMDBDiscovery\n", ""), "accounts[0]", "set role_name at the top level", also="no role"
    ),
    "typo-acounts": Case(
        OK.replace("accounts:", "acounts:"), "acounts", "did you mean 'accounts'? write accounts instead"
    ),
    # a look-alike key (Cyrillic o) printed as is read exactly like the key the line said to write
    "look-alike-key": Case(
        OK + "rоle_session_name: x\n",
        "'r\\u043ele_session_name'",
        "did you mean 'role_session_name'? write role_session_name instead in plain ASCII",
        also="character 2 is \\u043e, CYRILLIC SMALL LETTER O",
    ),
    # a look-alike choice (Cyrillic а) printed as is read exactly like the choice suggested
    "look-alike-choice": Case(
        OK + "default_groups: [аccount, region]\n",
        "default_groups[0]",
        "did you mean 'account'? use one of account, region, name",
        also="unknown value '\\u0430ccount' (character 1 is \\u0430, CYRILLIC SMALL LETTER A, not plain ASCII)",
    ),
    "typo-role_nmae": Case(
        OK.replace('"111111111111"', '{id: "111111111111", role_nmae: Other}'),
        "accounts[0].role_nmae",
        "did you mean 'role_name'?",
    ),
    "duplicate-account": Case(
        OK.replace('"111111111111"', '"111111111111", {role_arn: "arn:aws:iam::111111111111:role/Other"}'),
        "accounts[1]",
        "keep one entry per account",
        also="listed twice",
    ),
    "empty-account-list": Case(OK.replace('["111111111111"]', "[]"), "accounts", "list at least one account id"),
    "unknown-region": Case(
        OK.replace("[us-east-1]", "[us-east-1, eu-wset-1]"), "regions[1]", "did you mean 'eu-west-1'?"
    ),
    "max-workers-out-of-range": Case(OK + "max_workers: 0\n", "max_workers", "write a number from 1 to 256"),
    "filters-not-a-mapping": Case(
        OK + "filters: [tag:Environment=prod]\n", "filters", "write filters as name: value pairs"
    ),
    "filter-name-misspelt": Case(
        OK + "filters:\n  instance-stat-name: running\n",
        "filters.instance-stat-name",
        "did you mean instance-state-name?",
        also="not a DescribeInstances filter name",
    ),
    "include-filter-name-with-underscores": Case(
        OK + "include_filters:\n  - instance_type: t3.micro\n",
        "include_filters[0].instance_type",
        "did you mean instance-type?",
    ),
    "filter-value-read-as-octal": Case(
        OK + "filters:\n  tag:Code: 0755\n", "filters.tag:Code", "write the value in quotes", also="(493)"
    ),
    "accounts-file-unquoted-id": Case(
        OK.replace('accounts: ["111111111111"]', "accounts_file: accounts.yml"),
        "accounts_file[0]",
        "in quotes",
        accounts_file="- 222222222222\n",
    ),
    "accounts-file-broken-yaml": Case(
        OK.replace('accounts: ["111111111111"]', "accounts_file: accounts.yml"),
        "accounts_file",
        "fix the YAML syntax there",
        also="is not valid YAML at line 2",
        accounts_file='- "111111111111"\n  - "222222222222"\n',
    ),
    "broken-yaml": Case(
        "plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts:\n  - '111111111111'\n   - '222222222222'\n",
        "(file)",
        "fix the YAML syntax there",
        also="not valid YAML at line 5, column 4",
        only_our_plugin=True,
    ),
    # not a mapping: refused before any key is read (was: 'NoneType' object has no attribute 'get')
    "empty-file": Case("", "(file)", "starting with plugin: crossaccount.aws.ec2", also="empty", only_our_plugin=True),
    "top-level-list": Case(
        "- plugin: crossaccount.aws.ec2\n",
        "(file)",
        "starting with plugin: crossaccount.aws.ec2",
        also="got a list",
        only_our_plugin=True,
    ),
    "plain-text": Case(
        "accounts 111111111111 and 222222222222\n",
        "(file)",
        "starting with plugin: crossaccount.aws.ec2",
        also="got a string",
        only_our_plugin=True,
    ),
    # a profile the AWS config files do not define: botocore's ProfileNotFound, as one line
    "profile-not-defined": Case(OK + "profile: nosuch\n", "profile", "aws configure list-profiles", also="'nosuch'"),
    "aws-profile-not-defined": Case(OK, "AWS_PROFILE", "unset it", also="'nosuch'", env=(("AWS_PROFILE", "nosuch"),)),
    # jsonfile needs a directory: one line instead of ansible-core's multi-line "Required config '_uri'"
    "cache-jsonfile-no-connection": Case(
        OK + "cache: true\ncache_plugin: ansible.builtin.jsonfile\n", "cache_connection", "writable directory"
    ),
    "cache-timeout-negative": Case(OK + "cache: true\ncache_timeout: -5\n", "cache_timeout", "from 0 to"),
    # the same values from the environment or ansible.cfg, which the file leaves to them: a negative
    # timeout disabled stale-if-error, and ansible-core read any unknown word as false (no cache)
    "cache-timeout-from-env": Case(
        OK + "cache: true\ncache_plugin: memory\n",
        "ANSIBLE_INVENTORY_CACHE_TIMEOUT",
        "from 0 to",
        also="-5 is out of range for cache_timeout",
        env=(("ANSIBLE_INVENTORY_CACHE_TIMEOUT", "-5"),),
    ),
    "cache-timeout-older-env-name": Case(
        OK + "cache: true\ncache_plugin: memory\n",
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT",
        "from 0 to",
        env=(("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "-1"),),
    ),
    "cache-word-from-env": Case(
        OK,
        "ANSIBLE_INVENTORY_CACHE",
        "set it to true or false",
        also="'maybe'",
        env=(("ANSIBLE_INVENTORY_CACHE", "maybe"),),
    ),
    "use-extra-vars-word-from-env": Case(
        OK, "ANSIBLE_INVENTORY_USE_EXTRA_VARS", "true or false", env=(("ANSIBLE_INVENTORY_USE_EXTRA_VARS", "perhaps"),)
    ),
    "cache-word-from-ansible-cfg": Case(
        OK,
        "[inventory] cache in {dir}/ansible.cfg",
        "true or false",
        also="'maybe'",
        ansible_cfg="[inventory]\ncache = maybe\n",
    ),
    # ansible-core reads ansible.cfg values raw: a '%' (in a '#' note, which is not a comment after a
    # value) skipped the check, and the value was read as false without a word
    "cache-word-with-percent-from-ansible-cfg": Case(
        OK,
        "[inventory] cache in {dir}/ansible.cfg",
        "true or false",
        also="'yes # 100%'",
        ansible_cfg="[inventory]\ncache = yes # 100%\n",
    ),
    "cache-timeout-from-ansible-cfg": Case(
        OK + "cache: true\ncache_plugin: memory\n",
        "[defaults] fact_caching_timeout in {dir}/ansible.cfg",
        "from 0 to",
        ansible_cfg="[defaults]\nfact_caching_timeout = -3600\n",
    ),
    # the constructed fragment's "boolean" type (not "bool"): was accepted and read as false
    "leading-separator-word": Case(OK + "leading_separator: maybe\n", "leading_separator", "leading_separator: true"),
    # a key of a keyed_groups entry that ansible-core does not read was ignored: groups without the prefix
    "keyed-groups-typo": Case(
        OK + "keyed_groups: [{key: instance_type, prefx: type}]\n", "keyed_groups[0].prefx", "did you mean 'prefix'?"
    ),
    # fields ansible-core formats with "%s": an empty separator made groups named "typeNonet3_micro"
    "keyed-groups-separator-empty": Case(
        OK + "keyed_groups: [{key: instance_type, prefix: type, separator: }]\n",
        "keyed_groups[0].separator",
        "write '' for none",
        also="got empty",
    ),
    # YAML reads 0755 as 493: the groups would have been named 493_...
    "keyed-groups-prefix-octal": Case(
        OK + "keyed_groups: [{key: instance_type, prefix: 0755}]\n",
        "keyed_groups[0].prefix",
        "write it in quotes",
        also="(493)",
    ),
    # a quoted "no" is true to ansible-core: the separator stayed
    "keyed-groups-trailing-separator-text": Case(
        OK + 'keyed_groups: [{key: ec2_tags, trailing_separator: "no"}]\n',
        "keyed_groups[0].trailing_separator",
        "trailing_separator: false",
    ),
    # ansible-core refuses the pair only once it evaluates a host, after the whole scan
    "keyed-groups-default-and-trailing": Case(
        OK + "keyed_groups: [{key: ec2_tags.Env, default_value: none, trailing_separator: false}]\n",
        "keyed_groups[0].default_value",
        "keep one",
    ),
    # a region of another partition than the accounts': refused before AWS is called there
    "sts-region-other-partition": Case(OK + "sts_region: cn-north-1\n", "sts_region", "write a region of aws"),
    "partition-cn-with-us-regions": Case(OK + "partition: aws-cn\n", "partition", "write partition: aws,"),
    "role-arn-cn-with-us-regions": Case(
        OK.replace('"111111111111"', '{role_arn: "arn:aws-cn:iam::111111111111:role/X"}'),
        "accounts[0]",
        "regions of aws-cn",
    ),
    # amazon.aws.aws_ec2 renders templates in profile, regions and filters values; read as written here,
    # a templated filter value matched no instance without a word
    "filters-template": Case(
        OK + "filters:\n  tag:Environment: \"{{ lookup('env', 'ENV') }}\"\n",
        "filters.tag:Environment",
        "write the value itself",
        also="a Jinja template, which amazon.aws.aws_ec2 renders here",
    ),
    # a Jinja comment is a template to ansible-core too (aws_ec2 renders it away)
    "filters-template-comment": Case(
        OK + 'filters:\n  tag:Environment: "prod{# the env #}"\n', "filters.tag:Environment", "write the value itself"
    ),
    "filters-template-in-list": Case(
        OK + 'filters:\n  tag:Name: [web, "{% if true %}db{% endif %}"]\n', "filters.tag:Name[1]", "write the value"
    ),
    "regions-template": Case(
        OK.replace("[us-east-1]", "[\"{{ lookup('env', 'REGION') }}\"]"), "regions[0]", "write the region codes"
    ),
    "profile-template": Case(
        OK + "profile: \"{{ lookup('env', 'AWS_PROFILE') | default('prod', true) }}\"\n",
        "profile",
        "set AWS_PROFILE in the environment",
    ),
    # amazon.aws.aws_ec2 reads these variables, botocore does not: the scan went to AWS's own endpoints,
    # or used other credentials, without a word
    "aws-url": Case(
        OK, "AWS_URL", "set AWS_ENDPOINT_URL to the same value", env=(("AWS_URL", "http://127.0.0.1:4566"),)
    ),
    "aws-access-key": Case(
        OK,
        "AWS_ACCESS_KEY",
        "set AWS_ACCESS_KEY_ID to the same value",
        also="holds an access key id (aws_ec2's access_key)",
        env=(("AWS_ACCESS_KEY", "AKIAI44QH8DHBEXAMPLE"),),
    ),
    "aws-secret-key": Case(
        OK,
        "AWS_SECRET_KEY",
        "or unset AWS_SECRET_KEY",
        env=(("AWS_SECRET_KEY", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),),
    ),
    "profile-empty": Case(OK + 'profile: ""\n', "profile", "remove profile", also="empty"),
}


def _bomb(indent: str = "", levels: int = 9) -> str:
    """A "billion laughs": 9 levels of 9 aliases, a few hundred bytes expanding to about 10 GB."""
    lines = [f'{indent}a0: &a0 "{"lol" * 10}"']
    lines += [f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


ACCOUNTS_FILE = OK.replace('accounts: ["111111111111"]', "accounts_file: accounts.yml")

# Issue 10 §4: validation that cannot be bypassed, and configurations that can only scan nothing.
CASES.update(
    {
        # AWS ids are ASCII: Unicode digits, look-alike letters and a trailing newline are refused
        "id-fullwidth-digits": Case(
            OK.replace("111111111111", "１１１１１１１１１１１１"), "accounts[0]", "exactly 12 digits"
        ),
        "id-arabic-indic-digits": Case(OK.replace("111111111111", "١١١١١١١١١١١١"), "accounts[0]", "exactly 12 digits"),
        "id-trailing-newline": Case(
            OK.replace('"111111111111"', '"111111111111\\n"'), "accounts[0]", "exactly 12 digits"
        ),
        "id-in-map-trailing-newline": Case(
            OK.replace('"111111111111"', '{id: "111111111111\\n"}'), "accounts[0].id", "exactly 12 digits"
        ),
        "role-name-lookalike": Case(OK.replace("CMDBDiscovery", "CMDBDіscovery"), "role_name", "role name only"),
        "role-name-trailing-newline": Case(
            OK.replace("role_name: CMDBDiscovery", 'role_name: "CMDBDiscovery\\n"'), "role_name", "role name only"
        ),
        "role-arn-fullwidth-account": Case(
            OK.replace('"111111111111"', '{role_arn: "arn:aws:iam::１１１１１１１１１１１１:role/CMDBDiscovery"}'),
            "accounts[0].role_arn",
            "write arn:aws:iam::<12-digit account id>:role/<role name>",
        ),
        "role-arn-trailing-newline": Case(
            OK.replace('"111111111111"', '{role_arn: "arn:aws:iam::111111111111:role/CMDBDiscovery\\n"}'),
            "accounts[0].role_arn",
            "write arn:aws:iam::",
        ),
        "session-name-unicode": Case(OK + "role_session_name: inventaire-été\n", "role_session_name", "2-64"),
        "session-name-trailing-newline": Case(OK + 'role_session_name: "cmdb\\n"\n', "role_session_name", "2-64"),
        "external-id-unicode": Case(OK + "external_id: ехтернал-id\n", "external_id", "trust policy"),
        "region-trailing-newline": Case(
            OK.replace("[us-east-1]", '["us-east-1\\n"]'), "regions[0]", "such as us-east-1"
        ),
        "ou-id-unicode": Case(
            OK + "organization: {include_ous: [ou-ab12-cdefgh３４]}\n", "organization.include_ous[0]", "ou-ab12"
        ),
        "shard-fullwidth": Case(OK + 'shard: "１/２"\n', "shard", '"1/4"'),
        "max-workers-fullwidth": Case(OK + 'max_workers: "１６"\n', "max_workers", "from 1 to 256"),
        # a key twice: which one was meant is a guess, YAML would keep the last one silently
        "duplicate-key-top": Case(
            OK + "role_name: OtherRole\n", "role_name", "keep one role_name", also="lines 2 and 5"
        ),
        "duplicate-key-in-entry": Case(
            OK.replace('"111111111111"', '{id: "111111111111", id: "222222222222"}'), "accounts[0].id", "keep one id"
        ),
        "duplicate-key-accounts-file": Case(
            ACCOUNTS_FILE,
            "accounts_file[0].role_name",
            "keep one role_name",
            accounts_file='- id: "222222222222"\n  role_name: A\n  role_name: B\n',
        ),
        # a few hundred bytes of aliases must not expand to gigabytes
        "alias-bomb": Case(OK + "compose:\n" + _bomb("  "), "compose", "instead of nesting aliases", also="alias bomb"),
        "alias-bomb-accounts-file": Case(
            ACCOUNTS_FILE,
            "accounts_file.x",
            "instead of nesting aliases",
            accounts_file="x:\n" + _bomb("  ") + 'accounts: ["222222222222"]\n',
        ),
        "alias-recursive": Case(OK + "compose: &r\n  x: *r\n", "compose.x", "remove the alias"),
        # configurations that can only scan nothing
        "accounts-file-is-a-directory": Case(
            OK.replace('accounts: ["111111111111"]', "accounts_file: ."),
            "accounts_file",
            "name the YAML file in it",
            also="is a directory",
        ),
        "accounts-file-empty": Case(ACCOUNTS_FILE, "accounts_file", "list the accounts in it", accounts_file=""),
        "accounts-file-empty-list": Case(
            ACCOUNTS_FILE, "accounts_file", "list the accounts in it", accounts_file="[]\n"
        ),
        "accounts-file-empty-mapping": Case(
            ACCOUNTS_FILE, "accounts_file", "list the accounts in it", accounts_file="accounts: []\n"
        ),
        # an accounts_file mapping holds only accounts: other keys were ignored silently
        "accounts-file-extra-key": Case(
            ACCOUNTS_FILE,
            "accounts_file.regions",
            "set other options in the inventory file",
            accounts_file='accounts: ["222222222222"]\nregions: [eu-west-1]\n',
        ),
        # "" was read as no role: Organizations was asked with the controller's own credentials
        "organization-role-arn-empty": Case(
            OK + 'organization: {role_arn: ""}\n',
            "organization.role_arn",
            "or remove organization.role_arn to list them with the controller's own credentials",
            also="is empty",
        ),
        # "" (or {}, false, 0) excluded no account without a word
        "organization-exclude-accounts-not-a-list": Case(
            OK + 'organization: {exclude_accounts: ""}\n',
            "organization.exclude_accounts",
            'write e.g. exclude_accounts: ["123456789012"]',
            also="expected a list, got a string",
        ),
        # 0123456 is octal to YAML (42798): the line said 'write it quoted, e.g. external_id: "42798"'
        "external-id-read-as-octal": Case(
            OK + "external_id: 0123456\n",
            "external_id",
            'write it in quotes exactly as you meant it, e.g. external_id: "..."',
            also="got a number (42798), which may differ from what you wrote",
        ),
        # one entry in aws_ec2's grammar, two once ansible-core's list type splits it at the comma
        "hostnames-one-string-with-a-comma": Case(
            OK + 'hostnames: "tag:Name,Env"\n',
            "hostnames",
            'write a YAML list: hostnames: [tag:Name, instance-id] for two entries, ["tag:Name,Env"] for one',
            also="is one string, which ansible-core splits at each comma",
        ),
        # accepted by the pre-pass, refused by ansible-core in a message naming neither the key nor the fix
        "hostnames-a-mapping": Case(
            OK + "hostnames: {name: private-ip-address, prefix: tag:Name}\n",
            "hostnames",
            "write the mapping as a list item",
            also="expected a list, got a mapping",
        ),
        # sent only with organization.role_arn's AssumeRole: without one it was ignored silently
        "organization-external-id-without-role-arn": Case(
            OK + "organization: {external_id: example-external-id}\n",
            "organization.external_id",
            "add organization.role_arn (the role that needs it)",
            also="is set without organization.role_arn",
        ),
        "exclude-every-region": Case(
            OK + "exclude_regions: [us-east-1]\n", "exclude_regions", "remove those regions", also="nothing"
        ),
        "exclude-every-region-of-an-account": Case(
            OK.replace('"111111111111"', '{id: "111111111111", regions: [eu-west-1]}')
            + "exclude_regions: [eu-west-1]\n",
            "accounts[0].regions",
            "remove those regions",
        ),
    }
)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_one_clear_line(name, stand_in, faults, tmp_path):
    case = CASES[name]
    path = tmp_path / "bad.ec2.yml"
    path.write_text(case.config)
    if case.accounts_file is not None:
        (tmp_path / "accounts.yml").write_text(case.accounts_file)
    env = {"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    if case.only_our_plugin:
        env["ANSIBLE_INVENTORY_ENABLED"] = "crossaccount.aws.ec2"
    env.update(case.env)
    if case.ansible_cfg is not None:
        (tmp_path / "ansible.cfg").write_text(case.ansible_cfg)
        env["ANSIBLE_CONFIG"] = str(tmp_path / "ansible.cfg")
    key = case.key.format(dir=tmp_path)

    # the timeout bounds the alias bombs: refused at once, never expanded
    result = cli.inventory(str(path), stand_in.endpoint, "--list", extra_env=env, timeout=60)
    output = result.stdout + result.stderr

    assert result.rc != 0, "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true must fail the run"
    assert "Traceback" not in output
    assert f"Completely failed to parse inventory source {path}" in result.stderr

    ours = [line for line in result.stderr.splitlines() if OUR_PREFIX in line]
    assert len(ours) == 1, f"our line once, got:\n{result.stderr}"
    line = ours[0]
    # ansible-core's own words come first: with the default plugins our plugin is reached through
    # 'auto'; enabled directly, ansible-core names it by its Python path
    ansible_part = line.split(OUR_PREFIX, 1)[0]
    assert ansible_part.startswith("[WARNING]: Failed to parse inventory with "), line
    if case.only_our_plugin:
        assert "crossaccount.aws" in ansible_part and "'auto'" not in ansible_part, line
    else:
        assert "'auto' plugin" in ansible_part, line
    message = line.split(f"{OUR_PREFIX}{path}: ", 1)[1]
    assert message.startswith(f"{key}: "), f"names the key first: {message}"
    assert case.fix in message, message
    assert case.also in message, message
    size = len(message.replace(str(tmp_path), "DIR"))  # paths aside
    assert size < 240, f"compact ({size} characters): {message}"
    # ansible-core 2.19 would repeat a plugin error in a "<<< caused by >>>" block with an Origin:
    # the one-line error class stops that, so the message text appears exactly once in all output
    assert output.count(message) == 1

    noise = [ln for ln in result.stderr.splitlines() if ln.startswith("[WARNING]: Failed to parse inventory with")]
    if case.only_our_plugin:
        assert noise == [line], "with enable_plugins limited to this plugin there is no yaml/ini noise"
    else:
        # ansible-core also tries its yaml and ini plugins on the file; their lines name themselves
        assert {ln.split(" plugin")[0] for ln in noise} <= {
            "[WARNING]: Failed to parse inventory with 'auto'",
            "[WARNING]: Failed to parse inventory with 'yaml'",
            "[WARNING]: Failed to parse inventory with 'ini'",
        }

    assert sum(faults.calls.values()) == 0, f"no AWS call for a bad configuration: {dict(faults.calls)}"


def test_quoted_id_queries_exactly_that_account(stand_in, faults, tmp_path):
    """The control for the octal row: quoted, 012345670123 is scanned, and no other account is."""
    path = tmp_path / "good.ec2.yml"
    path.write_text(OK.replace('"111111111111"', '"012345670123"'))
    result = cli.inventory(str(path), stand_in.endpoint, "--list", "--export")
    assert result.rc == 0, result.stderr
    assert "Traceback" not in result.stderr
    accounts = {account for (_, account, _) in faults.calls}
    assert accounts == {"012345670123"}, dict(faults.calls)
    assert faults.calls[("AssumeRole", "012345670123", "us-east-1")] == 1
    assert result.all_vars["crossaccount_errors"] == []


def test_default_exit_code_is_zero_unless_told(stand_in, faults, tmp_path):
    """ansible-core turns a plugin error into warnings and exits 0 unless
    ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED is set: docs/bad-input.md says to set it for unattended jobs."""
    path = tmp_path / "bad.ec2.yml"
    path.write_text(OK.replace("accounts:", "acounts:"))
    result = cli.inventory(str(path), stand_in.endpoint, "--list")
    assert result.rc == 0
    assert result.data["_meta"]["hostvars"] == {}
    assert [line for line in result.stderr.splitlines() if OUR_PREFIX in line]
    assert "Unable to parse" in result.stderr
    assert sum(faults.calls.values()) == 0
    assert os.path.basename(str(path)) in result.stderr
