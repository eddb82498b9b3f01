# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin's side of ansible-core: reading its files, its options and reporting.

``load_settings`` is step one of ``parse()``: the YAML of the inventory file and of its
``accounts_file``, the ``plugin:`` name, the pre-pass of ``config.check_config`` (what core cannot
check), then ansible-core's own option machinery (``_read_config_data``: the documented types and
defaults) and ``config.build_settings`` on the values it resolved.
"""

from __future__ import annotations

import atexit
import configparser
import contextlib
import functools
import gc
import os
import sys
import time
import weakref
from typing import Any, Iterator

from ansible import constants as C
from ansible.errors import AnsibleParserError, AnsibleRequiredOptionError
from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible.utils.display import Display

from ansible_collections.crossaccount.aws.plugins.module_utils import aws_ec2_compat, botocore_data, safe_yaml
from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    RANGES,
    Settings,
    accounts_file_entries,
    build_settings,
    check_config,
    check_plugin,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain

display = Display()


def option_definitions(plugin: Any) -> dict[str, dict[str, Any]]:
    """The option definitions ansible-core built from the plugin's DOCUMENTATION and doc fragments."""
    return dict(C.config.get_configuration_definitions("inventory", plugin._load_name) or {})


def plugin_names(plugin: Any) -> tuple[str, ...]:
    """The names a configuration file may give in ``plugin:`` for this plugin."""
    return tuple(dict.fromkeys([plugin.NAME, *(getattr(plugin, "_redirected_names", None) or ())]))


def load_yaml(loader: Any, path: str, what: str) -> Any:
    """The plain content of a YAML file; broken YAML becomes one ConfigError line with the position.
    Duplicate keys and alias bombs are refused on the raw text first (safe_yaml), before anything
    is built from it. (``unsafe=True``: no deep copy by the loader, the plain copy is the only one
    handed out; for 1,000 accounts in an accounts_file that is ~0.12 s instead of ~0.34 s.)"""
    return plain(_load(loader, path, what, unsafe=True), stringify_other=False)


def _load(loader: Any, path: str, what: str, **how: Any) -> Any:
    """ansible-core's load of ``path`` (never from its file cache), after the safe_yaml pre-pass."""
    safe_yaml.check_file(path, what)
    try:
        return loader.load_from_file(path, cache="none", **how)
    except Exception as exc:  # noqa: BLE001 - broken YAML becomes one line
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        origin = getattr(exc, "obj", None)  # ansible-core's YAML errors carry an Origin with the position
        where = f" at line {origin.line_num}" if getattr(origin, "line_num", None) else ""
        where += f", column {origin.col_num}" if where and getattr(origin, "col_num", None) else ""
        subject = "not valid YAML" if what == "(file)" else f"{path} is not valid YAML"
        raise ConfigError(
            what, f"{subject}{where} ({first})", "fix the YAML syntax there (indentation, quotes, colons)"
        ) from None


def configured_plugin(loader: Any, path: str) -> tuple[bool, Any]:
    """(True, the ``plugin:`` value) of a YAML mapping, or (False, None) when the file cannot be
    read as one (the parse then reports why).

    The value is read from the nodes the safe_yaml pre-pass composed anyway (PyYAML's C composer);
    only when they cannot tell (not a mapping, a merge key, a value that is not a plain string) is
    the file loaded by ansible-core. An inventory file listing 1,000 accounts takes ~0.3 s to load
    that way, and parse() loads it once more."""
    try:
        name = safe_yaml.check_file(path, "(file)").plugin
    except ConfigError:
        return False, None
    if name is not safe_yaml.UNKNOWN:
        return True, name
    try:
        data = load_yaml(loader, path, "(file)")
    except ConfigError:
        return False, None
    return (True, data.get("plugin")) if isinstance(data, dict) else (False, None)


class _ParsedFileLoader:
    """The plugin's DataLoader, except that the inventory file, asked for as ``_read_config_data``
    asks for it (trusted as template, not from the file cache), is answered once with the parse
    ``load_settings`` already made, instead of being loaded a second time. Any other call goes to
    the DataLoader itself. When ansible-core asks differently, it simply loads the file again
    (guarded by tests/unit/plugins/test_inventory_file_loads.py)."""

    def __init__(self, loader: Any, path: str, data: Any) -> None:
        self._loader, self._path, self._data = loader, path, data

    def load_from_file(
        self,
        file_name: str,
        cache: str = "all",
        unsafe: bool = False,
        json_only: bool = False,
        trusted_as_template: bool = False,
    ) -> Any:
        if (file_name, cache, json_only, trusted_as_template) == (self._path, "none", False, True) and self._data:
            data, self._data = self._data, None
            return data
        return self._loader.load_from_file(
            file_name, cache=cache, unsafe=unsafe, json_only=json_only, trusted_as_template=trusted_as_template
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def read_config_data(plugin: Any, path: str, data: Any) -> None:
    """ansible-core's ``_read_config_data(path)`` (its option machinery and the cache plugin),
    given ``data``: the file as ansible-core loads it there, parsed once."""
    loader = plugin.loader
    plugin.loader = _ParsedFileLoader(loader, path, data)
    try:
        plugin._read_config_data(path)
    finally:
        plugin.loader = loader


def read_accounts_file(loader: Any, inventory_path: str, raw: Any) -> Any:
    """The content of ``accounts_file`` (a list, or the list under an ``accounts`` key), or None.
    The path is read as ansible-core reads an option of ``type: path`` (``~`` and environment
    variables expanded, ``unfrackpath``), except that a relative path is resolved from the
    inventory file's directory."""
    from ansible.utils.path import unfrackpath

    accounts_file = raw.get("accounts_file") if isinstance(raw, dict) else None
    if accounts_file is None:
        return None
    if not isinstance(accounts_file, str):
        raise ConfigError("accounts_file", "expected a file path", "write accounts_file: accounts.yml")
    full = unfrackpath(accounts_file, follow=False, basedir=os.path.dirname(inventory_path))
    if os.path.isdir(full):
        fix = "name the YAML file in it, e.g. accounts_file: accounts.yml"
        raise ConfigError("accounts_file", f"{full} is a directory, not a file", fix)
    if not os.path.isfile(full):
        raise ConfigError("accounts_file", f"{full} does not exist", "write a path relative to the inventory file")
    return accounts_file_entries(load_yaml(loader, full, "accounts_file"))


def botocore_data_root() -> str:
    """Where the trimmed botocore models live (module_utils/botocore_data.py): under ANSIBLE_HOME,
    ~/.ansible by default, next to ansible-core's own galaxy and collection caches."""
    return os.path.join(C.ANSIBLE_HOME, "crossaccount.aws")


def botocore_data_path() -> str | None:
    """The trimmed-model directory botocore should search first, or None (the full models)."""
    return botocore_data.data_cache(botocore_data_root())


def load_settings(plugin: Any, path: str) -> Settings:
    """Step one of ``parse()``: the settings of the inventory file at ``path``."""
    # loaded once, as _read_config_data loads it (strings trusted as templates: compose and the
    # other Jinja2 options are templates); the checks below work on a plain copy
    loaded = _load(plugin.loader, path, "(file)", unsafe=True, trusted_as_template=True)
    raw = plain(loaded, stringify_other=False)
    check_plugin(raw, plugin_names(plugin))
    file_accounts = read_accounts_file(plugin.loader, path, raw)
    botocore_data.require_botocore_installed()
    definitions = option_definitions(plugin)
    check_config(
        raw,
        definitions,
        file_accounts=file_accounts,
        known_regions=botocore_data.known_regions(botocore_data_root()),
        known_attributes=(
            botocore_data.known_attributes(botocore_data_root()) if raw.get("attributes") is not None else None
        ),
    )
    check_cache_connection(plugin, raw)
    check_outside_values(plugin, raw, definitions)
    aws_ec2_compat.refuse_aws_ec2_environment(os.environ)
    # ansible-core's own option handling (types, defaults, the constructed and cache options)
    # runs after the pre-pass, so that our messages, which name the key and the fix, come first.
    read_config_data(plugin, path, loaded)
    options = {name: plain(plugin.get_option(name)) for name in definitions}
    return build_settings(options, file_accounts=file_accounts, raw=raw)


# The words ansible-core reads as true or false (convert_bool.BOOLEANS), and the empty text (a
# variable set to nothing, read as false); any other text it reads as false without a word, which
# turned ANSIBLE_INVENTORY_CACHE=maybe into "no cache".
_BOOLEAN_TEXTS = frozenset({word for word in BOOLEANS if isinstance(word, str)} | {""})


def check_outside_values(plugin: Any, raw: dict[str, Any], definitions: dict[str, dict[str, Any]]) -> None:
    """Options the file leaves out and the environment or ansible.cfg sets (the cache options,
    ``use_extra_vars``) get the checks the file's own values get (config.check_config): a boolean
    must be a word ansible-core reads as one, a whole number must be in its range
    (``ANSIBLE_INVENTORY_CACHE_TIMEOUT=-5`` would expire every entry at once, so stale-if-error
    would never have data). One line naming the variable, or the ansible.cfg key and file. Types
    ansible-core cannot convert at all are left to its own message, which names the source."""
    for name, definition in definitions.items():
        if raw.get(name) is not None or not (definition.get("env") or definition.get("ini")):
            continue
        try:
            value, origin = C.config.get_config_value_and_origin(
                name, plugin_type="inventory", plugin_name=plugin._load_name
            )
        except Exception:  # noqa: BLE001 - ansible-core reports it when it reads the file
            continue
        source, text = _outside_source(definition, origin)
        if source is None:
            continue
        if definition.get("type") in ("bool", "boolean") and str(text).strip().lower() not in _BOOLEAN_TEXTS:
            raise ConfigError(
                source, f"expected true or false, got {text!r}", f"set it to true or false, or set {name} in the file"
            )
        bounds = RANGES.get(name)
        if bounds and isinstance(value, int) and not isinstance(value, bool) and not bounds[0] <= value <= bounds[1]:
            raise ConfigError(
                source, f"{value} is out of range for {name}", f"write a number from {bounds[0]} to {bounds[1]}"
            )


def _outside_source(definition: dict[str, Any], origin: Any) -> tuple[str | None, Any]:
    """(how to name where a value came from, the text written there) for an ``origin`` of
    ansible-core's ``get_config_value_and_origin``: ``env: NAME``, or the path of the ansible.cfg
    it read (looked up again as ansible-core reads it: the last of the option's ini entries that
    is set wins). (None, None) for a default or an origin of another kind."""
    if not isinstance(origin, str) or origin == "default":
        return None, None
    if origin.startswith("env: "):
        variable = origin[len("env: ") :]
        return variable, os.environ.get(variable)
    if not os.path.isfile(origin):
        return None, None
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))  # as ansible-core reads it
    found = None
    try:
        parser.read(origin)
        for entry in definition.get("ini") or ():
            section, key = entry.get("section"), entry.get("key")
            if section and key and parser.has_option(section, key):
                # raw, as ansible-core reads it: interpolation would fail on a '%' and skip the check
                found = (f"[{section}] {key} in {origin}", parser.get(section, key, raw=True))
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None, None
    return found or (None, None)


CACHE_KEYS = ("cache", "cache_plugin", "cache_connection")


def check_cache_connection(plugin: Any, raw: dict[str, Any]) -> None:
    """``cache: true`` with a cache plugin that needs a directory (its ``_uri`` is required, as
    jsonfile's is) and no ``cache_connection`` from the file, the environment or ansible.cfg: one
    line naming cache_connection, instead of ansible-core's multi-line "Required config '_uri'".
    The values are resolved as ansible-core resolves them (file, then environment and ansible.cfg);
    a cache plugin that cannot be loaded is left to ansible-core to report."""
    from ansible.plugins.loader import cache_loader

    direct = {key: raw[key] for key in CACHE_KEYS if raw.get(key) is not None}
    try:
        value = functools.partial(
            C.config.get_config_value, plugin_type="inventory", plugin_name=plugin._load_name, direct=direct
        )
        if not value("cache") or value("cache_connection"):
            return
        name = value("cache_plugin")
        cache_class = cache_loader.get(name, class_only=True) if name else None
        own = C.config.get_configuration_definitions("cache", cache_class._load_name) if cache_class else None
        if not (own and (own.get("_uri") or {}).get("required")):
            return
        # the cache plugin's own _uri (ANSIBLE_CACHE_PLUGIN_CONNECTION, fact_caching_connection)
        C.config.get_config_value("_uri", plugin_type="cache", plugin_name=cache_class._load_name)
        return
    except AnsibleRequiredOptionError:
        pass  # required and given nowhere: refused below
    except Exception:  # noqa: BLE001 - ansible-core reports its own option errors when it reads the file
        return
    raise ConfigError(
        "cache_connection",
        f"cache: true with the {name} cache plugin needs a directory for the cache, and none is set",
        "set cache_connection: a writable directory (or ANSIBLE_INVENTORY_CACHE_CONNECTION), "
        "or use cache_plugin: memory",
    )


@contextlib.contextmanager
def gc_frozen() -> Iterator[None]:
    """Python's cyclic garbage collector leaves alone what exists when the parse starts (the
    public ``gc.freeze``), and takes it back at the end (``gc.unfreeze``).

    ansible-core's start-up leaves a large heap, and a scan allocates enough to trigger a full
    collection that walks all of it again (~20 ms on the slow VM, per full collection). Nothing is
    lost: objects that become garbage during the parse are collected after it, as before. A host
    that froze objects itself (a freeze count above zero), or disabled the collector, is left as
    it is: ``gc.unfreeze`` would undo its freeze."""
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_freeze_at_exit = []  # the hook, once registered (one per process, however many sources)


def freeze_heap_at_exit() -> None:
    """In ``ansible-inventory``, freeze what is left out of the cyclic garbage collector at the
    interpreter's exit (the public ``gc.freeze``, registered once with the public ``atexit``).

    Python's shutdown runs full collections over the whole heap while it tears the modules down:
    ~0.2 s of a 2 s ``ansible-inventory`` run on the slow VM, for memory the operating system takes
    back at exit anyway. Frozen, those collections walk nothing. What changes is what Python leaves
    undefined at exit: ``__del__`` of objects kept alive by reference cycles may not run (a file
    object in a cycle is not flushed, a temporary file in one not removed). Exit handlers
    (``atexit``, ``weakref.finalize``) are called, not collected, and run as before.

    Only in ``ansible-inventory`` (an inventory update, AWX's included): its exit follows the
    output, and nothing of other plugins' is left to finalise. ``ansible-playbook`` and the other
    CLIs load callback plugins and other code whose objects may rely on it, and run for minutes, so
    they exit as Python does (tests/integration/test_exit.py)."""
    if _freeze_at_exit or "ansible.cli.inventory" not in sys.modules:
        return
    _freeze_at_exit.append(atexit.register(gc.freeze))


def any_unparsed_is_failed() -> bool:
    return bool(C.config.get_config_value("INVENTORY_ANY_UNPARSED_IS_FAILED"))


class OneLineParserError(AnsibleParserError):
    """A configuration error shown as one line.

    ansible-core 2.19 attaches an "Origin: <inventory plugin ...>" context to a plugin's error,
    which stops it from folding our message into its "Failed to parse ... plugin" warning: the
    message would be printed twice. Our message already names the file, the key and the fix."""

    @property
    def _formatted_source_context(self) -> None:
        return None


class ProgressReporter:
    """At -v, one progress line on stderr every few seconds (stdout stays the inventory)."""

    INTERVAL = 2.0

    def __init__(self, part: str = "") -> None:
        self._last = 0.0
        self._prefix = f"crossaccount.aws.ec2: {part}: " if part else "crossaccount.aws.ec2: "

    def __call__(self, progress: Any) -> None:
        if display.verbosity < 1:
            return
        now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self._last = now
            display.display(f"{self._prefix}{progress.line()}", stderr=True)

    def done(self, progress: Any) -> None:
        if display.verbosity >= 1:
            display.display(f"crossaccount.aws.ec2: scan finished: {progress.line()}", stderr=True)


def host_variable_setter(inventory: Any) -> Any:
    """``set_variable(host, name, value)`` for host variables made of AWS data (built-in types only:
    hosts.instance_record refuses anything else).

    ansible-core (2.19+) hands inventory plugins a proxy of InventoryData whose ``set_variable``
    first walks every value with its variable visitor: it copies each dict and list and tags each
    string with the inventory file's Origin (and with template trust, for plugins trusted by
    default -- this one is not). For instance documents that walk is most of the cost of loading
    them (about 2.2 ms and 27 KB per host with every attribute: 3.5 s and 44 MB for 1,600 hosts).
    AWS data needs none of it: an untagged string is never trusted as a template (ansible-core's
    default), and the values are copies made for this run (their nested parts are shared only with
    the run's snapshot, which nothing changes). So they are set on the proxied InventoryData
    itself, which is what the proxy does after its walk; ``Host.set_variable`` still checks names.

    A private interface (the proxy class and its ``__wrapped__``), guarded by
    tests/unit/plugins/test_host_variable_setter.py; when ansible-core changes shape the proxy's
    own ``set_variable`` is used, as any plugin would."""
    from ansible.inventory.data import InventoryData

    wrapped = getattr(inventory, "__wrapped__", None)
    if type(inventory).__name__ == "_InventoryDataWrapper" and isinstance(wrapped, InventoryData):
        return wrapped.set_variable
    return inventory.set_variable


def host_variables_setter(inventory: Any) -> Any:
    """``set_variables(host, variables)``: every (name, value) of ``variables`` set on the host
    named ``host`` (a host: never a group of that name, which the plugin's naming rules out
    anyway), with the result of ``host_variable_setter`` setting them one by one, for AWS data.

    ``Host.set_variable`` checks the variable's name (a deprecation warning for an invalid one) and
    merges a mapping into a mapping already there; ``InventoryData.set_variable`` looks the entity
    up again (groups first) for every variable. For 1,600 hosts of ~50 variables that is ~80,000
    calls. Here each distinct name goes once through ``Host.set_variable`` (checked), and after
    that a value is stored in the host's ``vars`` directly unless it would be merged (then
    ``Host.set_variable`` again).

    ``Host.vars`` is guarded with ``host_variable_setter`` (tests/unit/plugins/test_host_variable_setter.py);
    when the host has no ``vars`` dict, or the inventory is not the expected proxy, it falls back to
    ``host_variable_setter`` for each variable."""
    from collections.abc import Mapping, MutableMapping

    from ansible.inventory.data import InventoryData

    set_one = host_variable_setter(inventory)
    data = getattr(set_one, "__self__", None)
    # an InventoryData itself (type(), not isinstance: a proxy may pose as its target's class)
    hosts = data.hosts if issubclass(type(data), InventoryData) else None
    checked: set[str] = set()

    def set_variables(name: str, variables: dict[str, Any]) -> None:
        host = hosts.get(name) if isinstance(hosts, dict) else None
        store = getattr(host, "vars", None)
        if not isinstance(store, dict):
            for var, value in variables.items():
                set_one(name, var, value)
            return
        for var, value in variables.items():
            if var not in checked or (isinstance(value, Mapping) and isinstance(store.get(var), MutableMapping)):
                host.set_variable(var, value)
                store = host.vars  # a merge replaces the dict
                if isinstance(var, str):
                    checked.add(var)
            else:
                store[var] = value

    return set_variables


class SourceNames:
    """What the sources of this plugin have put into one inventory so far (every source of one
    ``ansible-inventory``/``ansible-playbook`` run shares the InventoryData; a refresh makes a
    new one): the group names their files fix (``groups:`` keys, ``keyed_groups`` parents,
    ``ssm_online``), the starts of their keyed groups (prefix and separator), and how each host
    they named got its name (module_utils/hostnames.Rival), so that a later source contests a
    name with an earlier one by the same rules as within one source."""

    def __init__(self) -> None:
        self.groups: set[str] = set()
        self.starts: set[str] = set()
        self.claims: dict[str, tuple[Any, str]] = {}  # host name -> (Rival, account id)


_SOURCE_NAMES: weakref.WeakKeyDictionary[Any, SourceNames] = weakref.WeakKeyDictionary()


def source_names(inventory: Any) -> SourceNames:
    """The SourceNames of ``inventory`` (ansible-core's InventoryData), made on first use. Keyed
    by the InventoryData itself: ansible-core hands each source's plugin a new proxy of it (a
    wrapt ObjectProxy), which would be dropped, and its entry with it, after that source."""
    inner = getattr(inventory, "__wrapped__", None)
    while inner is not None and inner is not inventory:
        inventory, inner = inner, getattr(inner, "__wrapped__", None)
    found = _SOURCE_NAMES.get(inventory)
    if found is None:
        found = _SOURCE_NAMES[inventory] = SourceNames()
    return found
