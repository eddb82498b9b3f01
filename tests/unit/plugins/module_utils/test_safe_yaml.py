"""safe_yaml.py: duplicate keys and alias bombs refused on the node graph, before any loader
builds objects; everything else left to the loader. (Through the CLI: tests/integration/test_bad_input.py.)"""

from __future__ import annotations

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import safe_yaml
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError


def bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lollollollollollollollollollol"']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def refused(text: str) -> safe_yaml._Refused:
    with pytest.raises(safe_yaml._Refused) as info:
        safe_yaml.check_text(text)
    return info.value


def test_a_billion_laughs_is_refused_without_expanding_it():
    # 9 levels of 9: about 10 GB when expanded; the node graph holds about a hundred nodes
    err = refused(bomb())
    assert "alias bomb" in err.problem and err.path.startswith("a")


def test_a_bomb_of_wide_mappings_is_refused():
    lines = ['k0: &k0 "x"'] + [
        f"k{i}: &k{i} {{" + ", ".join(f"m{j}: *k{i - 1}" for j in range(10)) + "}" for i in range(1, 9)
    ]
    assert "alias bomb" in refused("\n".join(lines)).problem


def test_ordinary_aliases_and_merge_keys_are_fine():
    safe_yaml.check_text(bomb(levels=3))  # 9**3 copies of 30 characters: well within the bound
    safe_yaml.check_text("base: &b {role_name: R, regions: [us-east-1]}\nx:\n  <<: *b\n  role_name: S\n")


def test_a_recursive_alias_is_refused():
    assert "refers to itself" in refused("a: &a\n  b: *a\n").problem
    assert "refers to itself" in refused("a: &a [1, *a]\n").problem


@pytest.mark.parametrize(
    ("text", "path", "lines"),
    [
        ("role_name: A\nregions: [x]\nrole_name: B\n", "role_name", "lines 1 and 3"),
        ('accounts:\n  - id: "1"\n    id: "2"\n', "accounts[0].id", "lines 2 and 3"),
        ("organization:\n  include_ous: [a]\n  include_ous: [b]\n", "organization.include_ous", "lines 2 and 3"),
        ('"role_name": A\nrole_name: B\n', "role_name", "lines 1 and 2"),
    ],
)
def test_a_duplicate_key_is_refused_naming_it_and_both_lines(text, path, lines):
    err = refused(text)
    assert err.path == path and lines in err.problem and "keep one" in err.fix


def test_keys_that_differ_in_type_are_not_duplicates():
    safe_yaml.check_text("1: a\n'1': b\n")


@pytest.mark.parametrize("text", ["a: [", "a: b\n---\nc: d\n", "- a\n b: c\n", ""])
def test_what_pyyaml_cannot_compose_is_left_to_the_loader(text):
    safe_yaml.check_text(text)


def test_deep_nesting_is_refused_not_a_crash():
    err = refused("a: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested more than" in err.problem and err.path == "a"
    safe_yaml.check_text("a: " + "[" * 50 + "]" * 50 + "\n")
    # deeper than libyaml itself accepts: its error is left to the loader, never a RecursionError
    try:
        safe_yaml.check_text("a: " + "[" * 20000 + "]" * 20000 + "\n")
    except safe_yaml._Refused as exc:
        assert "nested more than" in exc.problem


def test_ansible_tags_are_not_a_problem():
    safe_yaml.check_text("a: !unsafe '{{ x }}'\nb: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n")


def test_check_file_names_the_option(tmp_path):
    inventory = tmp_path / "x.ec2.yml"
    inventory.write_text("plugin: crossaccount.aws.ec2\nregions: [a]\nregions: [b]\n")
    with pytest.raises(ConfigError) as info:
        safe_yaml.check_file(str(inventory), "(file)")
    assert str(info.value).startswith("regions: key given twice (lines 2 and 3)")
    accounts = tmp_path / "accounts.yml"
    accounts.write_text('- id: "111111111111"\n  id: "222222222222"\n')
    with pytest.raises(ConfigError) as info:
        safe_yaml.check_file(str(accounts), "accounts_file")
    assert str(info.value).startswith("accounts_file[0].id: key given twice")
    accounts.write_text("x:\n" + "".join("  " + line + "\n" for line in bomb().splitlines()))
    with pytest.raises(ConfigError) as info:
        safe_yaml.check_file(str(accounts), "accounts_file")
    assert str(info.value).startswith("accounts_file.x: ") and "alias bomb" in str(info.value)
    safe_yaml.check_file(str(tmp_path / "missing.yml"), "accounts_file")  # the loader says it is missing
