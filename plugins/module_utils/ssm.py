# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory's ``ssm`` option: reaching hosts over SSM Session Manager.

Pure functions (no AWS call at import, no Ansible import):

* ``parse_ssm`` validates the ``ssm`` mapping of the inventory file into ``SsmSettings``;
* ``ssm_host_vars`` gives the NON-secret host variables that make
  ``crossaccount.aws.aws_ssm`` (the connection plugin) reach a host: the connection, the
  instance id, its region, the file-transfer bucket and the ARN of the session role of the
  host's own account. Credentials are never host variables: the connection plugin obtains them
  in memory when it connects (see ssm_credentials.py);
* ``managed_instances`` is the optional discovery: DescribeInstanceInformation of one
  account-region, as {instance id: ping status};
* ``ssm_groups`` names the group of online hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils import validation
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.module_utils.responses import token_pages

CONNECTION = "crossaccount.aws.aws_ssm"
ONLINE_GROUP = "ssm_online"
SSM_KEYS = (
    "role_name",
    "bucket_name",
    "bucket_endpoint_url",
    "discovery",
    "document",
    "s3_addressing_style",
    "set_connection",
    "role_session_name",
)
# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric.
# All matched whole (fullmatch) and ASCII only: a trailing newline or a Unicode letter or digit
# is refused here, not sent to AWS for every host at connect time.
BUCKET_RE = re.compile(r"(?!.*\.\.)(?![0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ROLE_NAME_RE = validation.ROLE_NAME
DOCUMENT_RE = re.compile(r"[a-zA-Z0-9_.:/-]{3,128}")
SESSION_NAME_RE = validation.SESSION_NAME
ENDPOINT_RE = re.compile(r"https?://[^\s'\"]+")
ADDRESSING_STYLES = ("auto", "path", "virtual")
PING_ONLINE = "Online"


@dataclass(frozen=True)
class SsmSettings:
    role_name: str
    bucket_name: str
    bucket_endpoint_url: str | None = None
    discovery: bool = False
    document: str | None = None
    s3_addressing_style: str | None = None
    set_connection: bool = True
    role_session_name: str = "crossaccount-ssm"

    def role_arn(self, partition: str, account_id: str) -> str:
        return f"arn:{partition}:iam::{account_id}:role/{self.role_name}"


def _text(raw: Mapping[str, Any], key: str, pattern: re.Pattern, fix: str, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise ConfigError(f"ssm.{key}", "is required when ssm is set", fix)
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value) if isinstance(value, (str, int, float, bool)) else "this value"
        raise ConfigError(f"ssm.{key}", f"{shown[:80]} is not valid", fix)
    return value


def _flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    # the words the top-level boolean options take (config._check_bool), quoted or from a template
    # left as text: "true" here means what it means at the top level of the file
    if isinstance(value, str) and value.lower() in validation.BOOL_WORDS:
        return value.lower() in validation.TRUE_WORDS
    raise ConfigError(f"ssm.{key}", f"expected true or false, got {value!r}"[:120], f"write ssm.{key}: true or false")


def parse_ssm(value: Any) -> SsmSettings | None:
    """Validate the ``ssm`` option (None when it is not set). One ``ConfigError`` per problem,
    naming the key and the fix; a key that looks like a credential is refused by name."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(
            "ssm",
            "expected a mapping",
            "write ssm: {role_name: AnsibleSessionManager, bucket_name: my-ssm-transfer-bucket}",
        )
    from ansible_collections.crossaccount.aws.plugins.module_utils import config as cfg

    cfg._refuse_secret_keys(value, "ssm.")
    cfg.check_unknown_keys(value, SSM_KEYS, where="ssm.")
    role_name = _text(
        value,
        "role_name",
        ROLE_NAME_RE,
        "write the name of the session role that exists in every account, e.g. AnsibleSessionManager",
        required=True,
    )
    bucket_name = _text(
        value,
        "bucket_name",
        BUCKET_RE,
        "write the name of the S3 bucket aws_ssm transfers files through (3-63 lowercase letters, digits, . and -)",
        required=True,
    )
    endpoint = value.get("bucket_endpoint_url")
    if endpoint is not None and (not isinstance(endpoint, str) or not ENDPOINT_RE.fullmatch(endpoint)):
        raise ConfigError(
            "ssm.bucket_endpoint_url", "is not an http(s) URL", "write e.g. https://s3.eu-west-1.amazonaws.com"
        )
    style = value.get("s3_addressing_style")
    if style is not None and style not in ADDRESSING_STYLES:
        raise ConfigError("ssm.s3_addressing_style", f"unknown style {style!r}"[:120], "use auto, path or virtual")
    return SsmSettings(
        role_name=role_name,
        bucket_name=bucket_name,
        bucket_endpoint_url=endpoint,
        discovery=_flag(value, "discovery", False),
        document=_text(value, "document", DOCUMENT_RE, "write the name of an SSM session document"),
        s3_addressing_style=style,
        set_connection=_flag(value, "set_connection", True),
        role_session_name=_text(value, "role_session_name", SESSION_NAME_RE, "use 2-64 letters, digits or +=,.@_-")
        or "crossaccount-ssm",
    )


def ssm_host_vars(record: Mapping[str, Any], ssm: SsmSettings, partition: str) -> dict[str, Any]:
    """The host variables that make crossaccount.aws.aws_ssm reach this host. Nothing secret:
    an instance id, a region, a bucket name and the session role's ARN."""
    out: dict[str, Any] = {
        "ansible_aws_ssm_instance_id": record["instance_id"],
        "ansible_aws_ssm_region": record["region"],
        "ansible_aws_ssm_bucket_name": ssm.bucket_name,
        "crossaccount_ssm_role_arn": ssm.role_arn(partition, record["account_id"]),
        "crossaccount_ssm_role_session_name": ssm.role_session_name,
    }
    if ssm.set_connection:
        out["ansible_connection"] = CONNECTION
    if ssm.bucket_endpoint_url:
        out["ansible_aws_ssm_bucket_endpoint_url"] = ssm.bucket_endpoint_url
    if ssm.document:
        out["ansible_aws_ssm_document"] = ssm.document
    if ssm.s3_addressing_style:
        out["ansible_aws_ssm_s3_addressing_style"] = ssm.s3_addressing_style
    if ssm.discovery and "ssm_ping_status" in record:  # absent when the discovery failed there
        out["crossaccount_ssm_online"] = record["ssm_ping_status"] == PING_ONLINE
    return out


def ssm_groups(record: Mapping[str, Any], ssm: SsmSettings | None) -> list[str]:
    if ssm is not None and ssm.discovery and record.get("ssm_ping_status") == PING_ONLINE:
        return [ONLINE_GROUP]
    return []


NOT_MANAGED = "NotManaged"


def add_ping_status(records: list[dict[str, Any]], client: Any) -> None:
    """Set ``ssm_ping_status`` on every record of one account-region (V(NotManaged) for an
    instance SSM does not know). Raises, leaving the records untouched, when the call fails."""
    statuses = managed_instances(client)
    for record in records:
        record["ssm_ping_status"] = statuses.get(record.get("instance_id"), NOT_MANAGED)


def managed_instances(client: Any) -> dict[str, str]:
    """{instance id: PingStatus} of every instance SSM manages in the client's account-region.

    Raises on any failure (the caller records it for that account-region): never a partial map."""
    found: dict[str, str] = {}
    # plain calls following NextToken, 50 per page; at most 5 million managed instances per account-region
    pages = token_pages(
        client.describe_instance_information,
        "DescribeInstanceInformation",
        {"MaxResults": 50},
        max_pages=100_000,
        page_size=50,
    )
    for page in pages:
        for item in page.get("InstanceInformationList", []) or []:
            iid = item.get("InstanceId")
            status = item.get("PingStatus")
            if isinstance(iid, str) and iid.startswith("i-") and isinstance(status, str):
                found[iid] = status[:32]
    return found
