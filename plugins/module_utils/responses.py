# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An answer that is not AWS's is a failure, never "no instances".

botocore parses whatever a 200 response holds into a dict: an XHTML sign-in page of a proxy
becomes ``{}`` for DescribeInstances and DescribeRegions (no reservations, no regions), any body
at all becomes ``{}`` for the JSON protocol of Organizations (no accounts). Counted as answers,
they would make an account or the whole estate look empty and complete.

``install(session)`` registers ``check_answer`` on botocore's ``after-call`` event of a session
(every client made from it, the STS clients of the role credentials included). A successful
answer must

* carry an AWS request id (``ResponseMetadata.RequestId``: the ``requestId`` element of EC2, the
  ``ResponseMetadata`` element of STS, the ``x-amzn-RequestId`` header of JSON services);
* for XML protocols, have ``<Operation>Response`` as its root element;
* hold the member every answer of that operation has (``Reservations`` of DescribeInstances,
  ``Regions`` of DescribeRegions, ``Credentials`` of AssumeRole, ``Accounts`` of ListAccounts ...).

Anything else raises ``NotAnAwsResponse`` (errors.py), which the scan reports as a failure of that
account or account-region. The identifiers taken from answers (account and OU ids, region names,
instance ids) are checked with the same ASCII patterns as the configuration (``validation.py``)
before they become role ARNs, client regions, group or host names.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils import validation
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import NotAnAwsResponse, bounded

# The member every genuine answer of these operations holds (botocore fills it from the AWS
# answer even when the list is empty: <reservationSet/>, "Accounts": []).
REQUIRED_MEMBER = {
    "DescribeInstances": "Reservations",
    "DescribeRegions": "Regions",
    "AssumeRole": "Credentials",
    "GetCallerIdentity": "Arn",
    "ListAccounts": "Accounts",
    "ListAccountsForParent": "Accounts",
    "ListOrganizationalUnitsForParent": "OrganizationalUnits",
}

_XML_PROTOCOLS = frozenset({"ec2", "query"})
# the root element of an XML answer: skip the declaration, comments and a doctype
_ROOT_RE = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def _snippet(content: Any) -> str:
    if not isinstance(content, (bytes, bytearray)):
        return ""
    if not content.strip():
        return "an empty body"
    text = bounded(bytes(content[:120]).decode("utf-8", "replace"), 120)
    return f"{len(content)} bytes starting {text!r}" + (" ..." if len(content) > 120 else "")


def _protocol(model: Any) -> str | None:
    resolved = getattr(getattr(model, "service_model", None), "resolved_protocol", None)
    if isinstance(resolved, str):
        return resolved
    metadata = getattr(model, "metadata", None)
    return metadata.get("protocol") if isinstance(metadata, Mapping) else None


def _root_problem(operation: str, protocol: Any, body: Any) -> str | None:
    """What is wrong with the body of a 2xx answer, judged before botocore parses it (None: nothing)."""
    if not isinstance(body, (bytes, bytearray)):
        return None
    if not body.strip():
        return "the answer is an empty body"
    if protocol in _XML_PROTOCOLS:
        m = _ROOT_RE.search(bytes(body[:1024]))
        root = m.group(1).decode("ascii", "replace") if m else None
        if root != f"{operation}Response":
            found = f"<{root}>" if root else "not XML"
            return f"the answer is {found}, not <{operation}Response> ({_snippet(body)})"
    elif protocol in ("json", "rest-json") and not bytes(body[:64]).lstrip().startswith(b"{"):
        return f"the answer is not a JSON object ({_snippet(body)})"
    return None


def check_body(operation_model: Any = None, response_dict: Any = None, **_kwargs: Any) -> None:
    """botocore ``before-parse`` handler: a 2xx body that is not the AWS answer raises
    ``NotAnAwsResponse`` with the first bytes of what came instead."""
    if not isinstance(response_dict, Mapping):
        return
    status = response_dict.get("status_code")
    if not isinstance(status, int) or not 200 <= status < 300:
        return
    operation = getattr(operation_model, "name", None) or "the call"
    protocol = _protocol(operation_model)
    problem = _root_problem(operation, protocol, response_dict.get("body"))
    if problem:
        raise NotAnAwsResponse(operation, problem)


def check_answer(http_response: Any = None, parsed: Any = None, model: Any = None, **_kwargs: Any) -> None:
    """botocore ``after-call`` handler: raise ``NotAnAwsResponse`` for a 2xx answer that is not
    the answer of that AWS operation. Error answers (>= 300) are left to botocore."""
    status = getattr(http_response, "status_code", None)
    if not isinstance(status, int) or status >= 300:
        return
    operation = getattr(model, "name", None) or "the call"
    content = getattr(http_response, "content", None)
    protocol = _protocol(model)
    problem = _root_problem(operation, protocol, content)  # when before-parse did not run
    if problem:
        raise NotAnAwsResponse(operation, problem)
    metadata = parsed.get("ResponseMetadata") if isinstance(parsed, Mapping) else None
    request_id = metadata.get("RequestId") if isinstance(metadata, Mapping) else None
    if not request_id:
        raise NotAnAwsResponse(operation, f"the answer carries no AWS request id ({_snippet(content)})")
    member = REQUIRED_MEMBER.get(operation)
    if member and member not in parsed:
        raise NotAnAwsResponse(operation, f"the answer has no {member} ({_snippet(content)})")


# What botocore's parsers raise on a body of the wrong shape besides ResponseParserError (an XHTML
# page for AssumeRole is a KeyError for 'AssumeRoleResult'): never raised for a genuine answer.
_PARSER_SLIPS = (KeyError, IndexError, AttributeError, TypeError, ValueError)


def check_call_error(exception: Any = None, context: Any = None, **_kwargs: Any) -> None:
    """botocore ``after-call-error`` handler: a parser that stumbled on the body raises
    ``NotAnAwsResponse`` instead (botocore's own errors, connection errors included, go on)."""
    name = type(exception).__name__
    module = type(exception).__module__ or ""
    if name == "ResponseParserError" or (
        isinstance(exception, _PARSER_SLIPS) and not module.startswith(("botocore.exceptions", "urllib3"))
    ):
        operation = "the call"
        if isinstance(context, Mapping):
            operation = str(context.get("crossaccount_operation") or operation)
        if name == "ResponseParserError":
            return  # errors.error_code_and_message reads it (and cuts the body it holds)
        raise NotAnAwsResponse(
            operation, f"the answer could not be read as an AWS answer ({name}: {bounded(exception, 120)})"
        ) from None


def _remember_operation(model: Any = None, context: Any = None, **_kwargs: Any) -> None:
    if isinstance(context, dict) and getattr(model, "name", None):
        context["crossaccount_operation"] = model.name


def install(session: Any) -> None:
    """Check every answer of every client made from ``session`` (botocore session or a copy)."""
    session.register("before-call", _remember_operation, unique_id="crossaccount-remember-operation")
    session.register("before-parse", check_body, unique_id="crossaccount-check-body")
    session.register("after-call", check_answer, unique_id="crossaccount-check-answer")
    session.register("after-call-error", check_call_error, unique_id="crossaccount-check-call-error")


# ---------------------------------------------------------------------------------------------
# identifiers taken from answers


def account_id(value: Any, operation: str) -> str:
    if not validation.is_account_id(value):
        raise NotAnAwsResponse(operation, f"the answer lists account id {bounded(repr(value), 60)}, not 12 digits")
    return value


def parent_id(value: Any, operation: str) -> str:
    if not validation.is_parent_id(value):
        raise NotAnAwsResponse(operation, f"the answer lists OU id {bounded(repr(value), 60)}, not an OU id")
    return value


def instance_id(value: Any) -> str:
    if not validation.is_instance_id(value):
        raise NotAnAwsResponse(
            "DescribeInstances", f"the answer lists instance id {bounded(repr(value), 60)}, not an instance id"
        )
    return value


def region_names(names: Iterable[Any], operation: str = "DescribeRegions") -> list[str]:
    out = []
    for name in names:
        if name is None:  # an entry without a name is skipped by the selection (regions.enabled_regions)
            continue
        if not validation.is_region(name):
            raise NotAnAwsResponse(operation, f"the answer lists region {bounded(repr(name), 60)}, not a region name")
        out.append(name)
    return out


def token_pages(
    call: Callable[..., Any], operation: str, params: dict[str, Any], *, max_pages: int, page_size: int
) -> Iterator[Any]:
    """Every page of one listing, following NextToken with plain calls (``call(**params)``, e.g.
    ``client.describe_instances``), rather than botocore's paginator: a paginator costs a
    service-model lookup per client (a directory listing of botocore's data when many threads miss
    its cache together) and jmespath work per page, for what is one token here.

    An answer that would never end raises ``NotAnAwsResponse``: a NextToken given a second time (or
    one that is not text; botocore's paginator refuses a repeated token too), or more than
    ``max_pages`` pages (``page_size`` each: more than any account holds)."""
    seen: set[str] = set()
    params = dict(params)
    while True:
        page = call(**params)
        yield page
        token = page.get("NextToken")
        if not token:
            return
        if not isinstance(token, str) or token in seen:
            raise NotAnAwsResponse(
                operation,
                "the answer gives a NextToken it already gave (or one that is not text): the listing would never end",
            )
        if len(seen) >= max_pages:
            raise NotAnAwsResponse(
                operation, f"more than {max_pages} pages of {page_size}: an answer that would never end"
            )
        seen.add(token)
        params["NextToken"] = token
