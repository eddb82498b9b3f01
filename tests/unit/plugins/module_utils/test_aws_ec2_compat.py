"""aws_ec2_compat: the option table is complete against the bundled amazon.aws.aws_ec2, the
Jinja pre-check agrees with ansible-core's own parser, and the filter queries are aws_ec2's."""

from __future__ import annotations

import ast
import os

import pytest
import yaml

from ansible_collections.crossaccount.aws.plugins.module_utils import aws_ec2_compat as compat
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
AMAZON_AWS = os.path.join(ROOT, ".tmp", "collections", "ansible_collections", "amazon", "aws", "plugins")


def _doc_options(path: str, name: str = "DOCUMENTATION") -> dict:
    source = open(path, encoding="utf-8").read()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return yaml.safe_load(node.value.value).get("options") or {}
    raise AssertionError(f"no {name} in {path}")


def _fragment_options(fragment: str) -> dict:
    path = os.path.join(AMAZON_AWS, "doc_fragments", fragment.split(".")[0] + ".py")
    source = open(path, encoding="utf-8").read()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PLUGINS":
            return yaml.safe_load(node.value.value).get("options") or {}
    raise AssertionError(fragment)


def aws_ec2_option_names() -> set[str]:
    """Every option and alias of the bundled aws_ec2 (its DOCUMENTATION and its amazon.aws fragments)."""
    path = os.path.join(AMAZON_AWS, "inventory", "aws_ec2.py")
    doc = yaml.safe_load(
        next(
            n.value.value
            for n in ast.parse(open(path).read()).body
            if getattr(getattr(n, "targets", [None])[0], "id", None) == "DOCUMENTATION"
        )
    )  # noqa: E501
    options = dict(doc["options"])
    for fragment in doc["extends_documentation_fragment"]:
        if fragment.startswith("amazon.aws.") and fragment.endswith(".plugins"):
            options.update(_fragment_options(fragment[len("amazon.aws.") :]))
    names = {"plugin"}
    for name, spec in options.items():
        names.add(name)
        names.update(spec.get("aliases") or ())
    # the constructed and inventory_cache fragments of ansible-core
    names.update({"compose", "groups", "keyed_groups", "strict", "leading_separator", "use_extra_vars"})
    names.update({"cache", "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix"})
    return names


def test_every_aws_ec2_option_is_in_the_table():
    names = aws_ec2_option_names()
    assert {"include_filters", "iam_role_arn", "route53_enabled", "use_ssm_inventory"} <= names  # the read worked
    missing = names - set(compat.AWS_EC2_OPTIONS) - set(compat.AWS_EC2_SECRET_OPTIONS)
    assert not missing, f"aws_ec2 options with no entry in AWS_EC2_OPTIONS: {sorted(missing)}"


def test_same_means_an_option_here_and_others_are_not():
    ours = set(_doc_options(os.path.join(ROOT, "plugins", "inventory", "ec2.py")))
    ours |= {"compose", "groups", "keyed_groups", "strict", "leading_separator", "use_extra_vars"}
    ours |= {"cache", "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix"}
    for name, (status, fix) in compat.AWS_EC2_OPTIONS.items():
        assert fix, name
        if status == compat.SAME:
            assert name in ours, f"{name} is marked the same but is no option here"
        else:
            assert name not in ours, f"{name} is an option here: its hint would never show"
            assert compat.aws_ec2_hint(name) is not None


def test_secret_options_are_refused_as_secrets():
    from ansible_collections.crossaccount.aws.plugins.module_utils.config import _is_secret_key

    for name in compat.AWS_EC2_SECRET_OPTIONS:
        assert _is_secret_key(name), name


@pytest.mark.parametrize(
    "key, fix",
    [
        ("iam_role_arn", "accounts: [{role_arn:"),
        ("assume_role_arn", "role_name: NAME"),
        ("strict_permissions", "strict_errors: true"),
        ("region", "sts_region"),
        ("aws_profile", "profile: NAME"),
        ("boto_profile", "profile: NAME"),
        ("use_ssm_inventory", "remove it"),
        ("allow_duplicated_hosts", "never merged"),
        ("include_extra_api_calls", "removed it in 9.0.0"),
    ],
)
def test_hints(key, fix):
    error = compat.aws_ec2_hint(key)
    assert str(error).startswith(f"{key}: ") and fix in str(error)
    assert "\n" not in str(error) and len(str(error)) < 260


# -- filters ----------------------------------------------------------------------------------------


def test_queries_as_aws_ec2_builds_them():
    base = (("tag:Env", ("prod",)), ("instance-state-name", compat.DEFAULT_STATES))
    include = compat.filter_list([{"tag:Name": "a"}, {"instance-state-name": ["running"]}], "include_filters")
    assert include == (
        (("tag:Name", ("a",)), ("instance-state-name", compat.DEFAULT_STATES)),
        (("instance-state-name", ("running",)),),
    )
    # filters given: it is one more query; not given: only the entries; no entries: filters alone
    assert len(compat.instance_queries(base, include, True)) == 3
    assert compat.instance_queries(base, include, False) == [compat._describe(q) for q in include]
    assert compat.instance_queries(base, (), False) == [compat._describe(base)]


@pytest.mark.parametrize(
    "value, key_part, words",
    [
        ({"tag:Name": "web"}, "include_filters", "list item"),
        ("tag:Name=web", "include_filters", "expected a list"),
        ([{}], "include_filters[0]", "empty"),
        (["tag:Name=web"], "include_filters[0]", "expected a mapping"),
        ([{"tag:V": 1.10}], "include_filters[0].tag:V", "(1.1)"),
        ([{"tag:V": [None]}], "include_filters[0].tag:V", "expected a value"),
        ([{"tag:V": []}], "include_filters[0].tag:V", "empty"),
    ],
)
def test_filter_list_refuses(value, key_part, words):
    with pytest.raises(ConfigError) as info:
        compat.filter_list(value, "include_filters")
    assert info.value.key == key_part and words in str(info.value)


def test_host_variables_affixes_instance_variables_only():
    record = {"instance_id": "i-1", "ec2_tags": {"a": "b"}, "account_id": "1", "region": "r", "ansible_host": "h"}
    out = compat.host_variables(record, "aws_", "_x")
    assert out == {"aws_instance_id_x": "i-1", "aws_ec2_tags_x": {"a": "b"}, "account_id": "1", "region": "r",
                   "ansible_host": "h", "crossaccount_hostvars_prefix": "aws_",
                   "crossaccount_hostvars_suffix": "_x"}  # fmt: skip
    assert "crossaccount_hostvars_suffix" not in compat.host_variables(record, "aws_", None)
    assert compat.host_variables(record, None, None) == record


# -- the Jinja pre-check agrees with ansible-core ------------------------------------------------------

EXPRESSIONS = [
    "instance_type",
    "ec2_tags.Name | default('x')",
    "ec2_tags['Name'] ~ '-' ~ region",
    "'a}}b'",
    "x if y else z",
    "[1, 2] | first",
    "(a",
    "a +",
    "a }} {{ b",
    "{{ a }}",
    "a | default(1) # c",
    "{% if a %}1{% endif %}",
    "a.b[",
    "lookup",
    "a is defined and b is not none",
    "'unterminated",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_expression_syntax_verdict_is_ansible_cores(expression):
    """Guards the use of Jinja's public parser for ansible-core's expressions: the same verdict as
    ansible-core's own templar (on 2.19 and 2.21), without evaluating anything here."""
    from ansible.errors import AnsibleTemplateSyntaxError
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    from jinja2 import TemplateSyntaxError

    templar = Templar(loader=DataLoader(), variables={"a": 1, "b": 2, "x": 1, "y": True, "z": 3, "instance_type": "t",
                                                      "ec2_tags": {"Name": "n"}, "region": "r"})  # fmt: skip
    try:
        templar.evaluate_expression(trust_as_template(expression))
        core_ok = True
    except AnsibleTemplateSyntaxError:
        core_ok = False
    except Exception:  # noqa: BLE001 - undefined names and the like: the syntax was fine
        core_ok = True
    try:
        compat.parse_expression(expression)
        ours_ok = True
    except TemplateSyntaxError:
        ours_ok = False
    assert ours_ok == core_ok


def test_tags_is_refused_with_the_replacement_and_locals_are_not():
    with pytest.raises(ConfigError) as info:
        compat.check_constructed({"o": "tags.Owner | default('nobody')"}, None, None)
    assert str(info.value).startswith("compose.o: reads 'tags'") and "ec2_tags" in str(info.value)
    # a name a compose entry defines, or the template sets itself, is not aws_ec2's
    compat.check_constructed({"ec2_tag_x": "1"}, {"g": "ec2_tag_x == 1"}, [{"key": "ec2_tag_x"}])
    compat.check_constructed(None, None, [{"key": "instance_type", "parent_group": "{% set tags = 1 %}{{ tags }}"}])
    compat.check_constructed({"a": "ec2_tags.Name | json_query('x') | regex_replace('a', 'b')"}, None, None)


@pytest.mark.parametrize(
    ("entry", "key", "fix"),
    [
        ({"key": "instance_type", "prefx": "env"}, "keyed_groups[0].prefx", "did you mean 'prefix'?"),
        ({"key": "instance_type", "seperator": "-"}, "keyed_groups[0].seperator", "write keyed_groups[0].separator"),
        ({"key": "instance_type", "colour": "red"}, "keyed_groups[0].colour", "use one of: default_value, key"),
        ({"key": "instance_type", "default": "none"}, "keyed_groups[0].default", "did you mean 'default_value'?"),
    ],
)
def test_a_keyed_groups_key_ansible_core_does_not_read_is_refused(entry, key, fix):
    with pytest.raises(ConfigError) as info:
        compat.check_constructed(None, None, [entry])
    assert info.value.key == key and fix in info.value.fix and "\n" not in str(info.value), str(info.value)


def test_keyed_group_keys_are_those_of_ansible_cores_constructed_fragment():
    from tests.support.settings import definitions

    assert set(definitions()["keyed_groups"]["suboptions"]) == set(compat.KEYED_GROUP_KEYS)
    values = ["instance_type", "t", "-", "types", "x", True]
    entry = dict(zip(compat.KEYED_GROUP_KEYS, values, strict=True))
    # every key it reads is accepted (default_value and trailing_separator exclude each other)
    compat.check_constructed(None, None, [{k: v for k, v in entry.items() if k != "trailing_separator"}])
    compat.check_constructed(None, None, [{k: v for k, v in entry.items() if k != "default_value"}])


@pytest.mark.parametrize(
    ("entry", "key", "fix"),
    [
        ({"key": "k", "separator": None}, "keyed_groups[0].separator", "write '' for none"),
        ({"key": "k", "prefix": None}, "keyed_groups[0].prefix", "write '' for none"),
        ({"key": "k", "prefix": True}, "keyed_groups[0].prefix", "quote it"),
        ({"key": "k", "prefix": ["a"]}, "keyed_groups[0].prefix", "quote it"),
        ({"key": "k", "default_value": {"a": 1}}, "keyed_groups[0].default_value", "quote it"),
        ({"key": "k", "trailing_separator": "no"}, "keyed_groups[0].trailing_separator", "trailing_separator: false"),
        ({"key": "k", "trailing_separator": 0}, "keyed_groups[0].trailing_separator", "trailing_separator: false"),
        ({"key": "k", "default_value": "x", "trailing_separator": True}, "keyed_groups[0].default_value", "keep one"),
    ],
)
def test_a_keyed_groups_field_ansible_core_would_misread_is_refused(entry, key, fix):
    with pytest.raises(ConfigError) as info:
        compat.check_constructed(None, None, [entry])
    assert info.value.key == key and fix in info.value.fix and "\n" not in str(info.value), str(info.value)


def test_keyed_groups_fields_as_strings_are_accepted():
    # default_value: null is the same as leaving it out
    compat.check_constructed(None, None, [{"key": "k", "prefix": "2024", "separator": "", "default_value": None}])
    compat.check_constructed(None, None, [{"key": "k", "default_value": "0", "trailing_separator": None}])
    compat.check_constructed(None, None, [{"key": "k", "trailing_separator": False}])


@pytest.mark.parametrize(("field", "value"), [("prefix", 493), ("separator", 1.1), ("default_value", 0)])
def test_a_keyed_groups_field_yaml_read_as_a_number_is_refused(field, value):
    # prefix: 0755 is 493 to YAML, 1.10 is 1.1: the groups would not start as written
    with pytest.raises(ConfigError) as info:
        compat.check_constructed(None, None, [{"key": "k", field: value}])
    assert info.value.key == f"keyed_groups[0].{field}" and "number" in info.value.problem
    assert "write it in quotes" in info.value.fix and "\n" not in str(info.value)
    # the number YAML read is what it shows, never the text to write ("e.g. prefix: '493'" for 0755)
    assert f"({value!r})" in info.value.problem and repr(value) not in info.value.fix, str(info.value)


def test_aws_ec2_only_environment_variables_are_refused_without_their_value():
    from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import refuse_aws_ec2_environment

    secret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
    with pytest.raises(ConfigError) as info:
        refuse_aws_ec2_environment({"AWS_SECRET_KEY": secret, "AWS_SECRET_ACCESS_KEY": "other"})
    assert info.value.key == "AWS_SECRET_KEY" and secret not in str(info.value)
    assert "AWS_SECRET_ACCESS_KEY" in info.value.fix
    with pytest.raises(ConfigError) as info:
        refuse_aws_ec2_environment({"AWS_URL": "http://localhost:4566"})
    assert info.value.key == "AWS_URL" and "AWS_ENDPOINT_URL" in info.value.fix
    # botocore's own variable holds the same value, or the aws_ec2 one is empty: nothing to say
    refuse_aws_ec2_environment({"AWS_URL": "http://x", "AWS_ENDPOINT_URL": "http://x", "AWS_ACCESS_KEY": ""})


def _documented_filters() -> set[str]:
    """The DescribeInstances filter names the installed botocore's (full) EC2 model documents."""
    import re

    import botocore.session

    model = botocore.session.get_session().get_service_model("ec2")
    doc = model.operation_model("DescribeInstances").input_shape.members["Filters"].documentation
    return set(re.findall(r"<li>\s*<p>\s*<code>([a-z0-9.\-]+)</code>", doc))


def test_the_filter_list_is_botocores_and_no_documented_name_is_taken_for_a_typo():
    """Fails loudly when botocore's documentation changes shape (nothing found) or drops names of
    the list; a filter botocore documents that the list lacks must still pass (newer filters go
    to AWS as written), never be refused as a typo of a neighbour."""
    documented = _documented_filters()
    assert len(documented) > 100, "botocore's DescribeInstances filter documentation changed shape"
    assert compat.DESCRIBE_INSTANCES_FILTERS - {"tag-value"} <= documented
    for name in sorted(documented):
        assert compat.misspelt_filter(name) is None, name
        compat.filter_pairs({name: "x"}, "filters")


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("instance-stat-name", "instance-state-name"),
        ("instance_state_name", "instance-state-name"),
        ("Instance-State-Name", "instance-state-name"),
        ("instance-typ", "instance-type"),
        ("vpcid", "vpc-id"),
        ("availability-zones", "availability-zone"),
        ("Tag:Name", "tag:Name"),
        ("metadata-options.http-tokenz", "metadata-options.http-tokens"),
    ],
)
def test_a_misspelt_filter_name_is_refused_in_one_line_naming_the_one_meant(name, meant):
    for key in ("filters", "include_filters[0]", "exclude_filters[1]"):
        with pytest.raises(ConfigError) as caught:
            compat.filter_pairs({"tag:Env": "prod", name: "running"}, key)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"{key}.{name}: not a DescribeInstances filter name")
        assert message.endswith(f"did you mean {meant}?")


@pytest.mark.parametrize(
    "name",
    [
        "tag:Name",
        "tag:instance_state_name",
        "tag-key",
        "tag-value",
        "owner-id",
        "private-ip",
        "subnet",
        "somenewfilter",
    ],
)
def test_documented_tag_and_unknown_far_names_pass_to_aws(name):
    assert compat.filter_pairs({name: "x"}, "filters") == ((name, ("x",)),)


def test_a_tag_filter_without_a_key_is_refused():
    with pytest.raises(
        ConfigError, match=r'^filters\.tag:: a tag filter names no tag key; write e\.g\. "tag:Environment": prod$'
    ):
        compat.filter_pairs({"tag:": "x"}, "filters")
