# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error classes and the translation of AWS errors into reportable failures.

Nothing here talks to AWS. ``describe_failure`` turns any exception raised while scanning
(botocore ``ClientError``, connection errors, timeouts, credential errors) into a
``ScanFailure``: plain data that the inventory reports as a warning and as an entry in
``crossaccount_errors``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping


class CrossAccountError(Exception):
    """Base class of every error this collection raises on purpose."""


class ConfigError(CrossAccountError):
    """A malformed inventory configuration: one line naming the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        text = f"{key}: {problem}"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


class MissingDependencyError(CrossAccountError):
    """boto3/botocore is not importable on the controller."""


class StrictErrorsFailure(CrossAccountError):
    """Raised when ``strict_errors`` is on and at least one account or region failed."""


@dataclass(frozen=True)
class ScanFailure:
    """One failed account (region is None) or one failed account-region."""

    account_id: str
    account_name: str | None
    region: str | None
    code: str
    message: str
    hint: str = ""

    def as_var(self) -> dict[str, Any]:
        """The entry published in ``crossaccount_errors`` (hint included for humans)."""
        return asdict(self)

    def one_line(self) -> str:
        return failure_line(self.as_var())


def failure_line(failure: Mapping[str, Any]) -> str:
    """One warning line for a failure (a ``crossaccount_errors`` entry)."""
    who = failure["account_id"] + (f" ({failure['account_name']})" if failure.get("account_name") else "")
    where = f"account {who}" + (f" region {failure['region']}" if failure.get("region") else "")
    line = f"{where}: {failure['code']}: {failure['message']}"
    if failure.get("hint"):
        line += f" -- {failure['hint']}"
    return line


# Credentials must never reach output: scrub anything that looks like a key or a token
# from messages that come back from AWS or from the HTTP stack.
_SECRET_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b"),
    re.compile(r"(?i)(secret[_-]?access[_-]?key|session[_-]?token|x-amz-security-token|signature)\s*[=:]\s*\S+"),
    re.compile(r"[A-Za-z0-9/+=]{120,}"),  # session tokens are long base64 blobs
)


def scrub(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
        "ThrottledException",
        "RequestThrottledException",
        "PriorRequestNotComplete",
    }
)

NETWORK_CODES = frozenset(
    {"ReadTimeout", "ConnectTimeout", "EndpointConnectionError", "ConnectionClosed", "ProxyConnectionError"}
)

_HINTS = {
    "AuthFailure": "the credentials were refused in this region: is the region enabled for the account (opt-in)?",
    "OptInRequired": "the region is not enabled for this account; enable it or list it in exclude_regions",
    "UnauthorizedOperation": "the discovery role lacks ec2:DescribeInstances here, or an SCP denies this region",
    "InvalidClientTokenId": "the credentials are not valid in this partition or region (opt-in region not enabled?)",
    "ExpiredToken": "the role session expired and could not be refreshed; check duration_seconds",
    "RegionDisabledException": "STS is disabled in this region for the source account; set sts_region",
    "SSLError": "TLS to the endpoint failed; check AWS_CA_BUNDLE and any proxy in between",
}

# Hints that depend on the call that failed: (operation, code) wins over code alone.
_OPERATION_HINTS = {
    ("DescribeRegions", "UnauthorizedOperation"): (
        "the discovery role lacks ec2:DescribeRegions (or an SCP denies it); grant it, "
        "or name the account's regions (regions option) so no discovery is needed"
    ),
    ("DescribeRegions", "AuthFailure"): (
        "the role's credentials were refused in the account's home region; check sts_region and that the "
        "region is enabled, or name the account's regions (regions option) so no discovery is needed"
    ),
}

_ASSUME_ROLE_DENIALS = frozenset({"AccessDenied", "AccessDeniedException", "InvalidClientTokenId"})


def _assume_role_hint(principal: str | None, role_arn: str | None, external_id: bool) -> str:
    tried = f"{principal or 'the source credentials'} tried sts:AssumeRole on {role_arn or 'the role'}"
    checks = "check that the role exists, that its trust policy names that principal"
    if external_id:
        checks += " and the same external id"
    checks += ", and that the caller may call sts:AssumeRole on it"
    return f"{tried}; {checks}"


def failed_operation(exc: BaseException, default: str) -> str:
    """The AWS operation that really failed: a ClientError knows it (an AssumeRole made by a
    credential refresh in the middle of DescribeInstances is an AssumeRole failure)."""
    name = getattr(exc, "operation_name", None)
    return name if isinstance(name, str) and name else default


def describe_failure(
    exc: BaseException,
    *,
    account_id: str,
    account_name: str | None,
    region: str | None,
    operation: str,
    principal: str | None = None,
    role_arn: str | None = None,
    external_id: bool = False,
) -> ScanFailure:
    """Turn an exception into a ScanFailure. ``operation`` is the call being made (e.g.
    ``AssumeRole``); the exception's own operation name wins when it has one."""
    code, message = error_code_and_message(exc)
    operation = failed_operation(exc, operation)
    hint = _OPERATION_HINTS.get((operation, code)) or _HINTS.get(code, "")
    if operation == "AssumeRole" and code in _ASSUME_ROLE_DENIALS:
        hint = _assume_role_hint(principal, role_arn, external_id)
    elif code in THROTTLING_CODES:
        hint = "still throttled after every retry; raise max_attempts, use retry_mode adaptive or lower max_workers"
    elif code in NETWORK_CODES:
        hint = (
            "network trouble after every retry; check connectivity to the endpoint, "
            "raise read_timeout/connect_timeout or max_attempts"
        )
    if operation and operation not in message:
        message = f"{operation}: {message}"
    return ScanFailure(
        account_id=account_id,
        account_name=account_name,
        region=region,
        code=code,
        message=scrub(message),
        hint=hint,
    )


def error_code_and_message(exc: BaseException) -> tuple[str, str]:
    """(code, message) for botocore and other exceptions, without importing botocore."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        err = response["Error"]
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or exc)
        return code, message
    name = type(exc).__name__
    mapping = {
        "ReadTimeoutError": "ReadTimeout",
        "ConnectTimeoutError": "ConnectTimeout",
        "EndpointConnectionError": "EndpointConnectionError",
        "ConnectionClosedError": "ConnectionClosed",
        "ProxyConnectionError": "ProxyConnectionError",
        "SSLError": "SSLError",
        "NoCredentialsError": "NoCredentials",
        "PartialCredentialsError": "PartialCredentials",
        "CredentialRetrievalError": "CredentialRetrieval",
    }
    return mapping.get(name, name), str(exc) or name


def strict_errors_message(errors: list[Mapping[str, Any]], any_unparsed_is_failed: bool) -> str:
    """The error of a run with ``strict_errors`` on and failures: every failure on one line."""
    lines = [failure_line(e) for e in errors]
    message = f"crossaccount.aws.ec2: strict_errors is on and {len(lines)} scan(s) failed: " + " | ".join(lines)
    if not any_unparsed_is_failed:
        message += (
            " -- ansible-core drops this whole source and still exits 0 unless "
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ([inventory] any_unparsed_is_failed); set it"
        )
    return message
