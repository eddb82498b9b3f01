# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error classes and the translation of AWS errors into reportable failures.

Nothing here talks to AWS. ``describe_failure`` turns any exception raised while scanning
(botocore ``ClientError``, connection errors, timeouts, credential errors) into a
``ScanFailure``: plain data that the inventory reports as a warning and as an entry in
``crossaccount_errors``.
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping


class CrossAccountError(Exception):
    """Base class of every error this collection raises on purpose."""


class ConfigError(CrossAccountError):
    """A malformed inventory configuration: one line naming the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str | None = None) -> None:
        # one line, bounded: a value echoed back may be anything the file holds
        self.key = bounded(key, 200)
        self.problem = bounded(problem, 400)
        self.fix = bounded(fix, 400) if fix else fix
        key, problem, fix = self.key, self.problem, self.fix
        text = f"{key}: {problem}"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


def unknown_key(key: Any, known: Iterable[str], where: str = "", many: str | None = None) -> ConfigError:
    """The one line for a key that is not one of ``known`` (``where``: the prefix of its name, e.g.
    ``organization.``): a close match is suggested (``acounts`` -> ``accounts``), else the known
    keys are listed, or ``many`` (a pointer to the docs) when there are more than 12 of them."""
    known = list(known)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        fix = f"did you mean '{close[0]}'? write {where}{close[0]} instead"
    elif len(known) <= 12 or many is None:
        fix = "remove it or use one of: " + ", ".join(sorted(known))
    else:
        fix = "remove it; " + many
    oddity = key_oddity(key)
    if oddity is None:
        return ConfigError(f"{where}{key}" if where else str(key), "unknown key", fix)
    # a look-alike (a Cyrillic o, a no-break or zero-width space, a space at the end) printed as is
    # reads exactly like the key it is suggested to write instead: shown escaped, the odd character named
    plainly = " without the spaces" if oddity.startswith("it has spaces") else " in plain ASCII"
    return ConfigError(f"{where}{ascii(key)}", f"unknown key ({oddity})", fix + plainly if close else fix)


def key_oddity(key: Any) -> str | None:
    """Why the key ``key`` may look like a known key when printed: a character that is not printable
    ASCII (named, with its position), or spaces around it; None for a plain key."""
    if not isinstance(key, str):
        return None
    for i, char in enumerate(key):
        if not (char.isascii() and char.isprintable()):
            name = unicodedata.name(char, "a control character")
            return f"character {i + 1} is {ascii(char)[1:-1]}, {name}, not plain ASCII"
    if key != key.strip():
        return "it has spaces around it"
    return None


def missing_profile(name: Any, option: str | None, environ: Mapping[str, str] | None = None) -> ConfigError:
    """The one line for a profile the AWS config files do not define (botocore's ProfileNotFound),
    naming where the name came from: the ``profile`` option, else AWS_PROFILE or AWS_DEFAULT_PROFILE."""
    shown = ascii(str(name))[1:-1][:100]
    problem = f"no profile '{shown}' in the AWS config and credentials files"
    if option is not None:
        return ConfigError(
            "profile",
            problem,
            "write a profile they define (aws configure list-profiles), "
            "or remove profile to use the default credential chain",
        )
    environ = os.environ if environ is None else environ
    key = next((k for k in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if environ.get(k) == name), "AWS_PROFILE")
    return ConfigError(
        key,
        f"the environment names profile '{shown}', which the AWS config and credentials files do not define",
        f"set {key} to a profile they define (aws configure list-profiles), or unset it",
    )


class MissingDependencyError(CrossAccountError):
    """boto3/botocore is not importable on the controller."""


def missing_botocore(cause: object) -> MissingDependencyError:
    """The one line for a controller without botocore."""
    return MissingDependencyError(
        f"the botocore and boto3 Python packages are missing on the controller ({cause}); "
        "install them with: pip install boto3"
    )


class StrictErrorsFailure(CrossAccountError):
    """Raised when ``strict_errors`` is on and at least one account or region failed."""


NOT_AN_AWS_RESPONSE = "NotAnAwsResponse"
NOT_AN_AWS_RESPONSE_HINT = (
    "the endpoint answered something that is not an AWS response: a proxy (sign-in page, captive portal) "
    "or a wrong AWS_ENDPOINT_URL? check HTTPS_PROXY/NO_PROXY and the endpoint"
)


class NotAnAwsResponse(CrossAccountError):
    """A successful (2xx) answer without the shape of the AWS answer of that operation."""

    code = NOT_AN_AWS_RESPONSE

    def __init__(self, operation: str, problem: str) -> None:
        self.operation_name = operation
        super().__init__(f"{operation}: {problem}")


# Messages from AWS, from the HTTP stack or from a page in between are bounded: one line, about
# a kilobyte, whatever their size.
MAX_MESSAGE = 1000
MAX_CODE = 64
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_CODE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)


def bounded(text: Any, limit: int = MAX_MESSAGE, total: int | None = None) -> str:
    """``text`` as one line of at most ``limit`` characters (control characters become spaces)."""
    text = str(text)
    total = len(text) if total is None else total
    line = _CONTROL_RE.sub(" ", text[: limit + 200]).strip()
    if total > limit or len(line) > limit:
        line = line[: limit - 40].rstrip() + f" ... [{total} characters in all]"
    return line


def safe_text(text: Any, limit: int = MAX_MESSAGE) -> str:
    """Scrubbed of secrets, then bounded. The scrub runs on a bounded prefix (a page of megabytes
    costs nothing) longer than what is kept, so a secret cut at its end is never shown."""
    text = str(text)
    return bounded(scrub(text[: limit * 4]), limit, total=len(text))


def safe_code(code: Any) -> str:
    code = str(code)
    return code if _CODE_RE.fullmatch(code) else "Unknown:" + bounded(code, 40)


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
    """One warning line for a failure (a ``crossaccount_errors`` entry), each part bounded."""
    name = failure.get("account_name")
    who = bounded(failure["account_id"], 80) + (f" ({bounded(name, 120)})" if name else "")
    where = f"account {who}" + (f" region {bounded(failure['region'], 40)}" if failure.get("region") else "")
    line = f"{where}: {bounded(failure['code'], MAX_CODE)}: {bounded(failure['message'])}"
    if failure.get("hint"):
        line += f" -- {bounded(failure['hint'], 600)}"
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

# STS answers to AssumeRole that are about the credentials the controller signed it with, not about
# the role: one fix (refresh the controller's credentials) for every account, not a hint per account.
CONTROLLER_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "UnrecognizedClientException",
        "MissingAuthenticationToken",
        "RequestExpired",
        "InvalidSignatureException",
        # the controller's own credential chain failing while it refreshes (SSO, process, web identity)
        "CredentialRetrieval",
        "UnauthorizedSSOTokenError",
        "SSOTokenLoadError",
        "TokenRetrievalError",
        "NoCredentials",
        "PartialCredentials",
    }
)
CONTROLLER_CREDENTIALS_PREFIX = "STS refused the controller's own credentials"
_CONTROLLER_DETAIL = {
    "ExpiredToken": "they have expired",
    "ExpiredTokenException": "they have expired",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "RequestExpired": "the controller's clock is wrong (the request was signed too long ago): sync it (NTP)",
    "InvalidClientTokenId": "the access key or session token is unknown to STS in this partition and region",
    "InvalidAccessKeyId": "the access key is unknown to AWS",
}


def controller_credentials_hint(code: str, sts_region: str | None = None) -> str:
    detail = _CONTROLLER_DETAIL.get(code, "they were rejected")
    where = f" (sts_region {sts_region})" if sts_region else ""
    return (
        f"{CONTROLLER_CREDENTIALS_PREFIX}{where}, the ones that call sts:AssumeRole: {detail}; "
        "refresh the controller's credentials (aws sso login, a new session token, or fix the profile, "
        "AWS_PROFILE or the environment variables) and run again; nothing is wrong with the accounts' roles"
    )


def is_controller_failure(code: str, operation: str) -> bool:
    """A failure of the controller's own credentials: an STS credential error on AssumeRole (made
    with the controller's credentials, also when a role refreshes in the middle of a scan)."""
    return operation == "AssumeRole" and code in CONTROLLER_CREDENTIAL_CODES


def _assume_role_hint(principal: str | None, role_arn: str | None, external_id: bool) -> str:
    tried = f"{principal or 'the source credentials'} tried sts:AssumeRole on {role_arn or 'the role'}"
    checks = "check that the role exists, that its trust policy names that principal"
    if external_id:
        checks += " and the same external id"
    checks += ", and that the caller may call sts:AssumeRole on it"
    return f"{tried}; {checks}"


def controller_refusal_for(first: ScanFailure, account_id: str, account_name: str | None) -> ScanFailure:
    """The failure of an account not tried because STS had refused the controller's credentials."""
    return ScanFailure(
        account_id=account_id,
        account_name=account_name,
        region=None,
        code=first.code,
        message=f"AssumeRole not tried: STS refused the controller's credentials for account {first.account_id}",
        hint=first.hint,
    )


NO_REGIONS_TO_SCAN = "NoRegionsToScan"


def no_regions_left(account_id: str, account_name: str | None, available: Any, exclude_regions: Any) -> ScanFailure:
    """An account whose every region is excluded: reported, never an empty "complete" account."""
    available = list(available)
    if available:
        message = f"every region enabled in the account ({len(available)}) is in exclude_regions"
    else:
        message = "no region is left to scan after exclude_regions"
    return ScanFailure(
        account_id=account_id,
        account_name=account_name,
        region=None,
        code=NO_REGIONS_TO_SCAN,
        message=message,
        hint="remove regions from exclude_regions, or name the regions to scan (regions option)",
    )


def split_controller_failures(failures: Any) -> tuple[list[Any], list[Any]]:
    """(failures caused by the controller's own credentials, the others)."""
    controller, others = [], []
    for failure in failures:
        hint = str(failure.get("hint") or "")
        (controller if hint.startswith(CONTROLLER_CREDENTIALS_PREFIX) else others).append(failure)
    return controller, others


def summary_lines(failures: Any, max_accounts: int = 20) -> list[str]:
    """One line per failure, except that the accounts whose AssumeRole STS refused because of the
    controller's own credentials share one line (one cause, one fix), naming the accounts."""
    lines: list[str] = []
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for failure in failures:
        if str(failure.get("hint") or "").startswith(CONTROLLER_CREDENTIALS_PREFIX):
            groups.setdefault(str(failure.get("code")), []).append(failure)
        else:
            lines.append(failure_line(failure))
    for code, members in groups.items():
        ids = [bounded(m["account_id"], 80) for m in members]
        shown = ", ".join(ids[:max_accounts])
        if len(ids) > max_accounts:
            shown += f" and {len(ids) - max_accounts} more"
        first = next((m for m in members if not str(m["message"]).startswith("AssumeRole not tried")), members[0])
        lines.insert(
            0,
            f"{bounded(first['hint'], 600)} [{bounded(code, MAX_CODE)}: {bounded(first['message'], 300)}]; "
            f"{len(ids)} account(s) not scanned: {shown}",
        )
    return lines


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
    sts_region: str | None = None,
) -> ScanFailure:
    """Turn an exception into a ScanFailure. ``operation`` is the call being made (e.g.
    ``AssumeRole``); the exception's own operation name wins when it has one."""
    code, message = error_code_and_message(exc)
    code = safe_code(code)
    if principal is not None:  # GetCallerIdentity's answer: shown only when it looks like an ARN
        principal = principal if principal.startswith("arn:") and len(principal) <= 2048 else None
        principal = bounded(principal, 300) if principal else None
    operation = failed_operation(exc, operation)
    hint = _OPERATION_HINTS.get((operation, code)) or _HINTS.get(code, "")
    if code == NOT_AN_AWS_RESPONSE:
        hint = NOT_AN_AWS_RESPONSE_HINT
    elif is_controller_failure(code, operation):
        hint = controller_credentials_hint(code, sts_region)
    elif operation == "AssumeRole" and code in _ASSUME_ROLE_DENIALS:
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
        message=safe_text(message),
        hint=bounded(hint),
    )


def error_code_and_message(exc: BaseException) -> tuple[str, str]:
    """(code, message) for botocore and other exceptions, without importing botocore."""
    if isinstance(exc, NotAnAwsResponse):
        return exc.code, str(exc)
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        err = response["Error"]
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or exc)
        return code, message
    name = type(exc).__name__
    if name == "ResponseParserError":
        # botocore could not parse a 2xx answer (HTML, an empty or truncated body, JSON for XML); its
        # message holds the whole body: keep the parser's reason and the first bytes only
        reason, _sep, body = str(exc).partition(":\n")
        reason = reason.replace(", invalid XML received. Further retries may succeed", "")
        return NOT_AN_AWS_RESPONSE, f"{bounded(reason, 200)}; the answer was {bounded(body, 160, total=len(body))}"
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
    lines = summary_lines(errors)  # the accounts stopped by the controller's credentials share one line
    message = f"crossaccount.aws.ec2: strict_errors is on and {len(errors)} scan(s) failed: " + " | ".join(lines)
    if not any_unparsed_is_failed:
        message += (
            " -- ansible-core drops this whole source and still exits 0 unless "
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ([inventory] any_unparsed_is_failed); set it"
        )
    return message
