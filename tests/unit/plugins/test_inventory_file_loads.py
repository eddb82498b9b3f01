"""The inventory file is loaded by ansible-core once per parse (plugin_utils/inventory.py).

``verify_file`` reads ``plugin:`` from the nodes the safe_yaml pre-pass composes anyway, and
``load_settings`` loads the file once, as ``_read_config_data`` loads it (trusted as template, not
from the file cache), then hands that parse to ``_read_config_data`` through ``_ParsedFileLoader``.
An inventory file of 1,000 accounts used to be loaded three times by the plugin (~1.2 s here).

The guard: when ansible-core's ``_read_config_data`` stops asking the plugin's loader for the file
that way, it loads the file again by itself (correct, only slower) and
``test_guard_read_config_data_is_served_the_parse_already_made`` fails loudly."""

from __future__ import annotations

import os
import textwrap

import pytest
from ansible.module_utils._internal._datatag import AnsibleTagHelper
from ansible.parsing.dataloader import DataLoader
from ansible.template import is_trusted_as_template

from ansible_collections.crossaccount.aws.plugins.module_utils import safe_yaml
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.plugin_utils import inventory as inv
from tests.support.settings import plugin as fresh_plugin

CONFIG = """\
plugin: crossaccount.aws.ec2
role_name: Reader
regions: [us-east-1]
compose:
  ansible_host: private_ip_address
accounts:
  - id: "111111111111"
    name: one
  - id: "222222222222"
    name: two
"""


class CountingLoader(DataLoader):
    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, dict]] = []

    def load_from_file(self, file_name, **kw):
        self.loads.append((file_name, kw))
        return super().load_from_file(file_name, **kw)


def _write(tmp_path, text: str, name: str = "inv.ec2.yml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _loaded_plugin(path: str):
    plugin = fresh_plugin()
    plugin.loader = CountingLoader()
    return plugin


def test_guard_read_config_data_is_served_the_parse_already_made(tmp_path):
    path = _write(tmp_path, CONFIG)
    plugin = _loaded_plugin(path)
    assert plugin.verify_file(path)
    settings = inv.load_settings(plugin, path)
    loads = [kw for name, kw in plugin.loader.loads if name == path]
    assert len(loads) == 1, f"the inventory file was loaded {len(loads)} times: {loads}"
    assert loads[0]["trusted_as_template"] is True and loads[0]["cache"] == "none"
    # ansible-core's option machinery got the file: options set, compose a trusted template
    assert plugin.get_option("role_name") == "Reader"
    assert settings.accounts is not None
    compose = plugin.get_option("compose")
    assert compose == {"ansible_host": "private_ip_address"}
    assert is_trusted_as_template(compose["ansible_host"])


def test_the_parse_is_served_once_then_the_loader_loads_again(tmp_path):
    path = _write(tmp_path, CONFIG)
    real = CountingLoader()
    shim = inv._ParsedFileLoader(real, path, {"plugin": "x"})
    assert shim.load_from_file(path, cache="none", trusted_as_template=True) == {"plugin": "x"}
    assert real.loads == []
    again = shim.load_from_file(path, cache="none", trusted_as_template=True)
    assert again["plugin"] == "crossaccount.aws.ec2" and len(real.loads) == 1
    # asked differently (untrusted, or from the cache): never the parse made for _read_config_data
    shim = inv._ParsedFileLoader(real, path, {"plugin": "x"})
    assert shim.load_from_file(path, cache="none")["plugin"] == "crossaccount.aws.ec2"
    assert shim.load_from_file(path)["plugin"] == "crossaccount.aws.ec2"
    assert shim.path_dwim(path) == real.path_dwim(path)  # anything else is the DataLoader's


def test_the_loader_is_given_back_even_when_ansible_core_refuses_the_file(tmp_path):
    path = _write(tmp_path, CONFIG.replace("role_name: Reader", "role_name: [not, a, string]"))
    plugin = _loaded_plugin(path)
    loader = plugin.loader
    with pytest.raises(Exception):  # noqa: B017 - whichever of ours or ansible-core's refuses it
        inv.load_settings(plugin, path)
    assert plugin.loader is loader


def test_the_checks_see_plain_values_not_trusted_ones(tmp_path, monkeypatch):
    path = _write(tmp_path, CONFIG)
    plugin = _loaded_plugin(path)
    seen = {}

    def spy(raw, *args, **kwargs):
        seen["raw"] = raw

    monkeypatch.setattr(inv, "check_config", spy)
    inv.load_settings(plugin, path)
    raw = seen["raw"]
    assert type(raw["role_name"]) is str and not AnsibleTagHelper.tags(raw["role_name"])
    assert type(raw["compose"]["ansible_host"]) is str


# -- verify_file: plugin: from the composed nodes --------------------------------------------------

SAMPLES = {
    "plain": "plugin: crossaccount.aws.ec2\nrole_name: R\n",
    "quoted": "plugin: 'crossaccount.aws.ec2'\n",
    "other plugin": "plugin: amazon.aws.aws_ec2\n",
    "no plugin key": "role_name: R\n",
    "number": "plugin: 12\n",
    "null": "plugin:\n",
    "list": "plugin: [a, b]\n",
    "unsafe tag": "plugin: !unsafe crossaccount.aws.ec2\n",
    "merge key": "base: &b {plugin: crossaccount.aws.ec2}\n<<: *b\n",
    "a list file": "- plugin: crossaccount.aws.ec2\n",
    "a scalar file": "crossaccount.aws.ec2\n",
    "empty": "",
    "json": '{"plugin": "crossaccount.aws.ec2", "role_name": "R"}\n',
    "broken": "plugin: [crossaccount.aws.ec2\n",
    "duplicate plugin": "plugin: crossaccount.aws.ec2\nplugin: amazon.aws.aws_ec2\n",
    "flow mapping key": "{a: 1}: 2\nplugin: crossaccount.aws.ec2\n",
    "tagged key": "!unsafe plugin: crossaccount.aws.ec2\n",
    "explicit str key": "!!str plugin: crossaccount.aws.ec2\n",
}


def _by_full_load(loader, path):
    """configured_plugin as it was: ansible-core's load of the whole file."""
    try:
        data = inv.load_yaml(loader, path, "(file)")
    except ConfigError:
        return False, None
    return (True, data.get("plugin")) if isinstance(data, dict) else (False, None)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_plugin_name_from_the_nodes_is_what_a_full_load_says(tmp_path, name):
    path = _write(tmp_path, SAMPLES[name])
    assert inv.configured_plugin(DataLoader(), path) == _by_full_load(DataLoader(), path)


def test_plain_names_are_read_without_loading_the_file(tmp_path):
    path = _write(tmp_path, CONFIG)
    loader = CountingLoader()
    assert inv.configured_plugin(loader, path) == (True, "crossaccount.aws.ec2")
    assert loader.loads == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plugin: a.b.c\n", "a.b.c"),
        ("x: 1\n", None),
        ("plugin: 1\n", safe_yaml.UNKNOWN),
        ("plugin: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n", safe_yaml.UNKNOWN),
        ("<<: {plugin: a.b.c}\n", safe_yaml.UNKNOWN),
        ("[plugin]\n", safe_yaml.UNKNOWN),
    ],
)
def test_top_level_string(text, expected):
    import yaml

    assert safe_yaml.top_level_string(yaml.compose(text, Loader=yaml.SafeLoader), "plugin") == expected


# -- the pre-pass is made once per unchanged file ----------------------------------------------------


def test_a_file_changed_after_passing_is_checked_again(tmp_path):
    path = _write(tmp_path, "plugin: crossaccount.aws.ec2\nrole_name: R\n")
    assert safe_yaml.check_file(path, "(file)") is not None
    # same size, another content: a key given twice
    with open(path, "w") as fh:
        fh.write("plugin: crossaccount.aws.ec2\nplugin: R\n")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))  # coarse-timestamp filesystems too
    with pytest.raises(ConfigError, match="key given twice"):
        safe_yaml.check_file(path, "(file)")


def test_an_unchanged_file_is_composed_once(tmp_path, monkeypatch):
    path = _write(tmp_path, "plugin: crossaccount.aws.ec2\nrole_name: R\n")
    first = safe_yaml.check_file(path, "(file)")
    monkeypatch.setattr(safe_yaml, "check_text", lambda text: pytest.fail("composed again"))
    assert safe_yaml.check_file(path, "(file)") is first


def test_a_refused_file_is_refused_every_time(tmp_path):
    path = _write(tmp_path, "plugin: crossaccount.aws.ec2\nplugin: x\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="key given twice"):
            safe_yaml.check_file(path, "(file)")


def test_an_accounts_file_is_loaded_once_without_the_loaders_deep_copy(tmp_path):
    accounts = _write(tmp_path, 'accounts:\n  - id: "111111111111"\n    name: one\n', "accounts.yml")
    loader = CountingLoader()
    content = inv.read_accounts_file(loader, str(tmp_path / "inv.ec2.yml"), {"accounts_file": "accounts.yml"})
    assert content == [{"id": "111111111111", "name": "one"}]
    assert type(content[0]["id"]) is str  # a plain copy: the only one handed out
    assert [kw.get("unsafe") for name, kw in loader.loads if name == accounts] == [True]


@pytest.mark.parametrize(
    ("line", "kinds", "written"),
    [
        ("", ("account", "region", "name"), False),
        ("default_groups:\n", ("account", "region", "name"), False),  # left empty: the default, not a choice
        ("default_groups: [account, region, name]\n", ("account", "region", "name"), True),
        ("default_groups: []\n", (), True),
    ],
)
def test_whether_the_file_chose_default_groups_reaches_the_settings(tmp_path, line, kinds, written):
    """What load_settings passes on (the warning of many name_ groups is for files that did not choose)."""
    path = _write(tmp_path, CONFIG + line)
    output = inv.load_settings(_loaded_plugin(path), path).output
    assert (output.default_groups, output.default_groups_written) == (kinds, written)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- plugin: crossaccount.aws.ec2\n", "got a list"),
        ("some plain text\n", "got a string"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused_before_any_key_is_read(tmp_path, text, problem):
    path = _write(tmp_path, text)
    plugin = _loaded_plugin(path)
    assert plugin.verify_file(path), "a *.ec2.yml file that is not a mapping is this plugin's to refuse"
    with pytest.raises(ConfigError) as info:
        inv.load_settings(plugin, path)
    assert info.value.key == "(file)" and problem in info.value.problem, str(info.value)
    assert "plugin: crossaccount.aws.ec2" in info.value.fix


JSONFILE = CONFIG + "cache: true\ncache_plugin: ansible.builtin.jsonfile\n"
CACHE_ENV = ("ANSIBLE_INVENTORY_CACHE_CONNECTION", "ANSIBLE_CACHE_PLUGIN_CONNECTION")


@pytest.mark.parametrize("text", [JSONFILE, CONFIG + "cache: yes\ncache_plugin: jsonfile\n"])
def test_a_file_cache_without_a_directory_is_refused_naming_cache_connection(tmp_path, monkeypatch, text):
    for name in CACHE_ENV:
        monkeypatch.delenv(name, raising=False)
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        inv.load_settings(_loaded_plugin(path), path)
    assert info.value.key == "cache_connection" and "writable directory" in info.value.fix, str(info.value)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        (JSONFILE + "cache_connection: {dir}\n", None),
        (JSONFILE, "ANSIBLE_INVENTORY_CACHE_CONNECTION"),
        (JSONFILE, "ANSIBLE_CACHE_PLUGIN_CONNECTION"),
        (CONFIG + "cache: true\n", None),  # memory: no directory
        (JSONFILE.replace("cache: true", "cache: false"), None),
    ],
)
def test_a_cache_directory_from_the_file_or_the_environment_is_enough(tmp_path, monkeypatch, text, env):
    for name in CACHE_ENV:
        monkeypatch.delenv(name, raising=False)
    if env:
        monkeypatch.setenv(env, str(tmp_path))
    path = _write(tmp_path, text.format(dir=tmp_path))
    assert inv.load_settings(_loaded_plugin(path), path).accounts is not None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "plugn: crossaccount.aws.ec2\nrole_name: R\naccounts: ['111111111111']\n",
            "missing (is 'plugn' meant to be plugin?)",
        ),
        ("Plugin: crossaccount.aws.ec2\nrole_name: R\n", "missing (is 'Plugin' meant to be plugin?)"),
        ("role_name: R\naccounts: ['111111111111']\n", "missing"),
    ],
)
def test_a_file_with_no_plugin_key_is_taken_and_refused_naming_plugin(tmp_path, text, problem):
    """With this plugin the one enabled, a misspelt plugin: key was declined by verify_file, and
    ansible-core said only "Unable to parse" with no reason."""
    path = _write(tmp_path, text)
    plugin = _loaded_plugin(path)
    assert plugin.verify_file(path), "no plugin: key is this plugin's to refuse, naming the key"
    with pytest.raises(ConfigError) as info:
        inv.load_settings(plugin, path)
    assert info.value.key == "plugin" and info.value.problem == problem, str(info.value)
    assert "write plugin: crossaccount.aws.ec2" in info.value.fix


def test_a_file_naming_another_plugin_is_still_declined(tmp_path):
    path = _write(tmp_path, "plugin: amazon.aws.aws_ec2\nregions: [us-east-1]\n")
    assert not _loaded_plugin(path).verify_file(path)
