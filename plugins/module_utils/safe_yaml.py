# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pre-pass over the raw YAML of the inventory file and of the accounts file, before any loader
builds Python objects from it.

* A key given twice in one mapping is refused, naming the key and both lines. YAML loaders keep
  the last value ("last one wins", ansible-core only warns): with ``role_name`` or ``regions``
  twice, which one was meant is a guess.
* A few hundred bytes of nested aliases (``&a [*b, *b, ...]``, "billion laughs") expand to
  gigabytes in anything that walks the data. The pre-pass works on PyYAML's node graph, where an
  alias is a reference to the same node, and computes the expanded size in time linear in the
  number of distinct nodes: a file past ``MAX_EXPANDED_CHARS`` or ``MAX_EXPANDED_NODES`` (or with a
  recursive alias, or nested too deeply) is refused at once, with one line.

Only PyYAML's public API (``yaml.compose``, node classes) is used. A file PyYAML cannot compose
(a syntax error, several documents) is left to the loader that reports it with line and column.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_EXPANDED_CHARS = 16 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 100  # an inventory file is a few levels deep; recursive code downstream must not overflow
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    def __init__(self, path: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.path, self.problem, self.fix = path, problem, fix


def _composer() -> tuple[Any, Any]:
    import yaml

    return yaml, getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _key_text(node: Any) -> str:
    value = str(node.value)
    return value if len(value) <= 60 and value.isprintable() else ascii(value[:60])


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_nodes(root: Any) -> None:
    """Raise ``_Refused`` for a duplicate key or an expansion past the bounds (iterative: no recursion)."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (characters, nodes) when expanded
    on_path: set[int] = set()
    # (node, path, children pushed?, depth)
    stack: list[tuple[Any, str, bool, int]] = [(root, "", False, 0)]
    while stack:
        node, path, expanded, depth = stack.pop()
        nid = id(node)
        if depth > MAX_DEPTH:
            top = path.split(".", 1)[0].split("[", 1)[0]
            raise _Refused(top, f"the YAML is nested more than {MAX_DEPTH} levels deep", "flatten it")
        if not expanded:
            if nid in sizes:
                continue
            if nid in on_path:
                raise _Refused(path, "a YAML alias refers to itself (a recursive structure)", "remove the alias (*)")
            on_path.add(nid)
            stack.append((node, path, True, depth))
            if isinstance(node, yaml.MappingNode):
                seen: dict[tuple[str, str], int] = {}
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                        ident = (key.tag, key.value)
                        line = key.start_mark.line + 1
                        if ident in seen:
                            name = _join(path, _key_text(key))
                            raise _Refused(
                                name,
                                f"key given twice (lines {seen[ident]} and {line}); YAML would silently keep "
                                "only the last one",
                                f"keep one {_key_text(key)}",
                            )
                        seen[ident] = line
                    child = _join(path, _key_text(key)) if isinstance(key, yaml.ScalarNode) else path
                    stack.append((key, path, False, depth + 1))
                    stack.append((value, child, False, depth + 1))
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    stack.append((item, f"{path}[{i}]", False, depth + 1))
            continue
        on_path.discard(nid)
        if isinstance(node, yaml.ScalarNode):
            total = (len(node.value) + 1, 1)
        else:
            children = (
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
            )
            chars, count = 1, 1
            for child in children:
                c, n = sizes[id(child)]
                chars, count = chars + c, count + n
            total = (chars, count)
        if total[0] > MAX_EXPANDED_CHARS or total[1] > MAX_EXPANDED_NODES:
            top = path.split(".", 1)[0].split("[", 1)[0]  # the option it is under: where to look
            raise _Refused(
                top,
                f"the YAML aliases expand to more than {MAX_EXPANDED_CHARS // (1024 * 1024)} MiB or "
                f"{MAX_EXPANDED_NODES} values (an alias bomb?)",
                "write the values out instead of nesting aliases (&name / *name)",
            )
        sizes[nid] = total


def check_text(text: str) -> Any:
    """Raise ``_Refused`` for a duplicate key or an alias bomb; return the composed root node, or
    None for text PyYAML cannot compose (or an empty document)."""
    yaml, loader = _composer()
    try:
        root = yaml.compose(text, Loader=loader)
    except RecursionError:
        raise _Refused("", f"the YAML is nested more than {MAX_DEPTH} levels deep", "flatten it") from None
    except yaml.YAMLError:
        return None  # the loader reports it, with line and column
    if root is not None:
        check_nodes(root)
    return root


# Files that passed, by (path, device, inode, size, mtime): verify_file and parse check the same
# inventory file one after the other; the second check of an unchanged file is not made again.
# Only what the callers read is kept (the top-level ``plugin`` value), never the nodes.
_PASSED: dict[tuple[Any, ...], Checked] = {}
_MAX_PASSED = 16


class Checked:
    """A file that passed the pre-pass: ``plugin`` is ``top_level_string(root, "plugin")``."""

    __slots__ = ("plugin",)

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin


def _identity(path: str) -> tuple[Any, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def check_file(path: str, key: str) -> Checked:
    """Refuse ``path`` (the inventory file when ``key`` is ``(file)``, else the file of option ``key``)
    with a ``ConfigError`` naming the key, for a duplicate key, an alias bomb or a size past 32 MiB.
    A file PyYAML cannot compose, or that cannot be read, passes (the loader then says why)."""
    identity = _identity(path)
    if identity is None:
        return Checked(UNKNOWN)  # the loader says why it cannot read it
    if identity in _PASSED:
        return _PASSED[identity]
    size = identity[3]
    if size > MAX_FILE_BYTES:
        raise ConfigError(key, f"{path} is {size} bytes, more than 32 MiB", "split the file or list fewer entries")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return Checked(UNKNOWN)
    try:
        root = check_text(text)
    except _Refused as refused:
        if key == "(file)":
            name = refused.path or "(file)"
            problem = refused.problem
        else:
            name = key + (refused.path if refused.path.startswith("[") else f".{refused.path}" if refused.path else "")
            problem = f"{refused.problem} in {path}"
        raise ConfigError(name, problem, refused.fix) from None
    checked = Checked(top_level_string(root, "plugin"))
    if identity == _identity(path):  # unchanged while it was read
        if len(_PASSED) >= _MAX_PASSED:
            _PASSED.clear()
        _PASSED[identity] = checked
    return checked


UNKNOWN = object()
_STR_TAG = "tag:yaml.org,2002:str"


def top_level_string(root: Any, key: str) -> Any:
    """The value of ``key`` in a top-level mapping, read from the composed nodes: a string, None
    when the mapping has no such key, or ``UNKNOWN`` when only a loader can tell (not a mapping,
    a merge key ``<<``, a value that is not a plain string: a number, ``!unsafe``, ``!vault``...)."""
    import yaml

    if not isinstance(root, yaml.MappingNode):
        return UNKNOWN
    found: Any = None
    for k, v in root.value:
        if not isinstance(k, yaml.ScalarNode) or k.tag == _MERGE_TAG:
            return UNKNOWN
        if k.value == key:
            # "!unsafe plugin:", "plugin: 12", "plugin: !vault ...": only a loader can tell
            if k.tag != _STR_TAG or not isinstance(v, yaml.ScalarNode) or v.tag != _STR_TAG:
                return UNKNOWN
            found = v.value
    return found
