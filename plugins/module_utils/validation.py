# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS's own character sets for the identifiers of the configuration and of AWS answers.

Every pattern is matched whole (``re.fullmatch``) with explicit ASCII classes: ``\\d`` and ``\\w``
accept Unicode digits and letters (``"１１１..."``, Cyrillic look-alikes), and ``$`` accepts a
trailing newline. A value that does not match never reaches AWS, a role ARN, sharding or a
group name.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import PARTITIONS

_NAME_CHARS = r"A-Za-z0-9_+=,.@\-"  # IAM names: letters, digits and +=,.@_-

PARTITION_NAMES = "|".join(re.escape(p) for p in PARTITIONS)  # partitions.py: the one list

ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)
ROLE_NAME = re.compile(rf"(?:[{_NAME_CHARS}]+/)*[{_NAME_CHARS}]{{1,64}}", re.ASCII)
ROLE_ARN = re.compile(
    rf"arn:({PARTITION_NAMES}):iam::([0-9]{{12}}):role/((?:[{_NAME_CHARS}]+/)*[{_NAME_CHARS}]{{1,64}})", re.ASCII
)
ROLE_ARN_MAX = 2048
ROLE_PATH_AND_NAME_MAX = 512
SESSION_NAME = re.compile(rf"[{_NAME_CHARS}]{{2,64}}", re.ASCII)
EXTERNAL_ID = re.compile(rf"[{_NAME_CHARS}:/]{{2,1224}}", re.ASCII)
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,3}", re.ASCII)
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}", re.ASCII)
ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}", re.ASCII)
# AWS ids are i- and 8 or 17 hex digits; the shape is checked, not the length (stand-ins differ)
INSTANCE_ID = re.compile(r"i-[0-9A-Za-z-]{1,64}", re.ASCII)
SHARD = re.compile(r"[ \t]*([0-9]{1,6})[ \t]*/[ \t]*([0-9]{1,6})[ \t]*", re.ASCII)
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)
# The words a boolean option of the file takes as text (any case), beside YAML's true and false
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
BOOL_WORDS = TRUE_WORDS | FALSE_WORDS


def _full(pattern: re.Pattern, value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_account_id(value: Any) -> bool:
    return _full(ACCOUNT_ID, value)


def is_role_name(value: Any) -> bool:
    return _full(ROLE_NAME, value) and len(value) <= ROLE_PATH_AND_NAME_MAX


def role_arn_parts(value: Any) -> tuple[str, str, str] | None:
    """(partition, account id, path and name) of a valid IAM role ARN, else None."""
    if not isinstance(value, str) or len(value) > ROLE_ARN_MAX:
        return None
    m = ROLE_ARN.fullmatch(value)
    if m is None or len(m.group(3)) > ROLE_PATH_AND_NAME_MAX:
        return None
    return m.group(1), m.group(2), m.group(3)


def is_session_name(value: Any) -> bool:
    return _full(SESSION_NAME, value)


def is_external_id(value: Any) -> bool:
    return _full(EXTERNAL_ID, value)


def is_region(value: Any) -> bool:
    return _full(REGION, value)


def is_ou_id(value: Any) -> bool:
    return _full(OU_ID, value)


def is_parent_id(value: Any) -> bool:
    """An OU or a root id (what ListAccountsForParent takes)."""
    return _full(OU_ID, value) or _full(ROOT_ID, value)


def is_instance_id(value: Any) -> bool:
    return _full(INSTANCE_ID, value)


def is_template(value: Any) -> bool:
    """Text ansible-core would render as a Jinja template (its ``Templar.is_template``: an
    expression, a statement or a comment; ``"prod{# x #}"`` renders as ``prod``). This plugin
    never renders a value: such text is refused where a user might expect it rendered."""
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)
