"""A WSGI layer in front of moto's app: latency, faults and AWS-like DescribeRegions.

moto has no latency or fault injection. This layer reads each request's action (query protocol:
EC2 and STS), the caller's account (from the access key, via moto's own mapping) and region
(from the SigV4 credential scope), then:

* sleeps ``latency_ms`` (every call, like the round trip to AWS);
* answers with an AWS error when a ``Fault`` rule matches (per action, account, region, with a
  rate for throttling-like faults and an optional count), delays the answer (timeouts) or closes
  the connection without an answer (``drop``: a connection error);
* answers with a body that is not AWS's (``Fault(body=...)``): the HTML sign-in page of a proxy, an
  empty body, truncated XML, JSON where XML is expected, a page of megabytes (see ``NOT_AWS``);
* optionally rewrites the Expiration of AssumeRole answers (``sts_expiration``), so a test can
  give role sessions a short life on a clock it controls;
* answers DescribeRegions like AWS does (``aws_like_regions``): the enabled regions of the
  caller's partition only, where moto lists all regions of every partition;
* counts calls per (action, account, region) so tests can assert how often AWS was called.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable
from urllib.parse import parse_qs

# The stand-in's "enabled" commercial regions: the 17 that need no opt-in and 3 opted-in ones.
AWS_ENABLED_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-east-1",
    "eu-south-1",
    "me-central-1",
)
OPTED_IN = frozenset({"ap-east-1", "eu-south-1", "me-central-1"})

_SCOPE_RE = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


@dataclass
class Fault:
    """One fault rule. ``None`` fields match anything."""

    code: str
    action: str | None = None
    account: str | None = None
    region: str | None = None
    status: int = 400
    message: str = "injected by the test fault layer"
    rate: float = 1.0  # probability that a matching call fails
    count: int | None = None  # fail at most this many times, then pass
    delay_s: float = 0.0  # sleep before answering (a read timeout when above the client's)
    hang_only: bool = False  # with delay_s: delay, then answer normally (a slow call, not an error)
    drop: bool = False  # close the connection without an answer (the client sees a connection error)
    # answer with this body instead of an AWS error (a proxy's HTML page, an empty body, truncated XML,
    # JSON where XML is expected, a huge page): with status 200 unless ``status`` says otherwise
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()  # more headers of that answer (e.g. x-amzn-RequestId)
    after: int = 0  # let this many matching calls pass first (e.g. fail only the second query of a region)

    def matches(self, action: str, account: str | None, region: str | None) -> bool:
        return (
            (self.action is None or self.action == action)
            and (self.account is None or self.account == account)
            and (self.region is None or self.region == region)
        )


# Answers of a middlebox that is not AWS, by name (``Fault(code=name, body=NOT_AWS[name])``).
NOT_AWS = {
    "html-sign-in": (
        b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form action='/login'>"
        b"<input name=user><br><input type=password name=pass></form></body></html>\n"
    ),
    # well-formed XML, but not an AWS answer (an XHTML page parses without error)
    "xhtml": b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>Proxy</p></body></html>',
    "empty": b"",
    "truncated-xml": (
        b'<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse '
        b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>4ac4-'
    ),
    "json": b'{"Reservations": [], "Regions": [], "Credentials": null}',
    "json-object-empty": b"{}",
    # a sign-in page of 3 MB: messages must stay about a kilobyte whatever the page
    "huge-html": b"<html><body>" + b"<p>Please sign in to the corporate proxy.</p>\n" * 70000 + b"</body></html>",
}


def _error_body(action: str, code: str, message: str, service: str) -> bytes:
    request_id = str(uuid.uuid4())
    if service == "ec2":
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return xml.encode("utf-8")


def _regions_body(regions: Iterable[str]) -> bytes:
    items = "".join(
        f"<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint>"
        f"<optInStatus>{'opted-in' if r in OPTED_IN else 'opt-in-not-required'}</optInStatus></item>"
        for r in regions
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse '
        f'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>{uuid.uuid4()}</requestId>'
        f"<regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
    ).encode()


def regions_body(regions: Iterable[str]) -> bytes:
    """A DescribeRegions answer of AWS's shape listing ``regions`` (none: an answer no account gives)."""
    return _regions_body(regions)


def account_of_access_key(access_key: str) -> str | None:
    try:
        from moto.iam.models import get_account_id_from

        return get_account_id_from(access_key)
    except Exception:  # noqa: BLE001
        return None


class FaultLayer:
    def __init__(
        self,
        app: Callable,
        *,
        latency_ms: float = 0.0,
        aws_like_regions: bool = False,
        faults: Iterable[Fault] = (),
        seed: int | None = 1234,
        sts_expiration: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.latency_ms = latency_ms
        self.aws_like_regions = aws_like_regions
        self._aws_like_regions_default = aws_like_regions
        self.faults: list[Fault] = list(faults)
        self.calls: Counter = Counter()  # (action, account, region) -> count
        self.injected: Counter = Counter()  # (code, action, account, region) -> count
        self.secrets_seen: set[str] = set()  # access keys and tokens moto handed out
        # when set, AssumeRole answers expire at the time this returns (moto uses now + duration)
        self.sts_expiration = sts_expiration
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def reset(self) -> None:
        with self._lock:
            self.faults = []
            self.calls.clear()
            self.injected.clear()
            self.sts_expiration = None
            self.aws_like_regions = self._aws_like_regions_default

    def set_faults(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)

    def _pick_fault(self, action: str, account: str | None, region: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.matches(action, account, region):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.count is not None and fault.count <= 0:
                    continue
                if fault.rate < 1.0 and self._random.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                if not fault.hang_only:
                    self.injected[(fault.code, action, account, region)] += 1
                return fault
        return None

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # hand the body on to moto
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        params = parse_qs(body.decode("utf-8", "replace")) if body else {}
        params.update(parse_qs(environ.get("QUERY_STRING", "")))
        action = (params.get("Action") or [""])[0]
        if not action:  # JSON protocols (Organizations): X-Amz-Target is "<service prefix>.<operation>"
            action = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        scope = _SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        access_key, region, service = (scope.group(1), scope.group(2), scope.group(3)) if scope else (None, None, "")
        if action == "AssumeRole":
            arn = (params.get("RoleArn") or [""])[0]
            m = re.match(r"arn:[\w-]+:iam::(\d{12}):role/", arn)
            account = m.group(1) if m else None
        else:
            account = account_of_access_key(access_key) if access_key else None
        with self._lock:
            self.calls[(action, account, region)] += 1

        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)

        fault = self._pick_fault(action, account, region)
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.drop:
                return self._drop(environ, start_response)
            if fault.body is not None:
                status = 200 if fault.status == 400 else fault.status
                start_response(f"{status} Not From AWS", [("Content-Type", fault.content_type), *fault.headers])
                return [fault.body]
            if not fault.hang_only:
                status = f"{fault.status} Injected"
                start_response(status, [("Content-Type", "text/xml")])
                return [_error_body(action, fault.code, fault.message, service)]

        if action == "DescribeRegions" and self.aws_like_regions:
            start_response("200 OK", [("Content-Type", "text/xml")])
            return [_regions_body(AWS_ENABLED_REGIONS)]

        if action in ("AssumeRole", "GetSessionToken"):
            return self._record_secrets(environ, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _drop(environ, start_response):
        """Close the client's connection with no answer: botocore raises ConnectionClosedError."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("500 Dropped", [("Content-Type", "text/plain")])
        return [b""]

    def _record_secrets(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"], captured["exc_info"] = status, headers, exc_info
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        text = body.decode("utf-8", "replace")
        for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
            for value in re.findall(rf"<{tag}>([^<]+)</{tag}>", text):
                self.secrets_seen.add(value)
        if self.sts_expiration is not None and "<Expiration>" in text:
            expires = self.sts_expiration().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            body = re.sub(r"<Expiration>[^<]+</Expiration>", f"<Expiration>{expires}</Expiration>", text).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        if captured.get("exc_info"):
            start_response(captured["status"], headers, captured["exc_info"])
        else:
            start_response(captured["status"], headers)
        return [body]
