"""Session Manager for the stand-in: moto has none.

A WSGI layer in front of the stand-in (outermost, before the fault layer) that answers the SSM
calls moto lacks and records them with the principal that signed them:

* ``StartSession``: the account comes from the signature's access key (moto's own mapping of
  assumed-role keys to accounts) and the role from the AssumeRole answer that handed that key
  out (this layer watches every AssumeRole). The target must be an instance of that account in
  the signing region (moto's EC2 backend), else ``InvalidTarget``, like AWS. Sessions can be
  denied per (account, role) with ``deny_start``: AccessDeniedException naming the principal.
* ``TerminateSession`` / ``ResumeSession``: recorded; an unknown session id is refused.
* ``AssumeRole`` of a role in ``deny_assume``: AccessDenied, like a trust policy that refuses.
* ``DescribeInstanceInformation``: every running instance of the caller's account-region, Online
  unless ``ping_status`` says otherwise (None: not managed), with pagination.
* ``GET /__ssm/data-channel/<session id>`` with the session's token: what the fake
  session-manager-plugin calls instead of the real data-channel websocket. It answers the
  session's target, account, role and region, so the "instance" knows who it is.

It also counts AssumeRole calls per role ARN (``assume_calls``) and keeps every secret it saw
pass (``secrets_seen``: access keys, secret keys, session tokens, stream tokens).
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from tests.support.faults import _SCOPE_RE, account_of_access_key

JSON = "application/x-amz-json-1.1"
ROLE_RE = re.compile(r"^arn:[\w-]+:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")


@dataclass
class Session:
    session_id: str
    token: str
    target: str
    account: str | None
    role: str | None  # the role name of the signing credentials (None: not an assumed role)
    region: str | None
    document: str | None
    started_at: str
    terminated: bool = False
    resumed: int = 0
    channel_opened: int = 0  # how many times the fake plugin opened the data channel
    events: list = field(default_factory=list)


class SessionManagerLayer:
    def __init__(self, app) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.denied: list[dict] = []  # StartSession calls refused by deny_start
        self.deny_start: set[tuple[str, str]] = set()  # (account, role name) refused StartSession
        self.deny_assume: set[str] = set()  # role ARNs whose AssumeRole is refused (AccessDenied)
        self.ping_status: dict[str, str | None] = {}  # instance id -> PingStatus (None: not managed)
        self.describe_failures: set[tuple[str, str]] = set()  # (account, region): AccessDenied
        self.describe_calls: Counter = Counter()  # (account, region) -> DescribeInstanceInformation calls
        self.assume_calls: Counter = Counter()  # role ARN -> AssumeRole calls that got keys
        self.roles_by_key: dict[str, str] = {}  # access key id -> role ARN that handed it out
        self.secrets_seen: set[str] = set()

    def reset(self) -> None:
        with self._lock:
            self.sessions.clear()
            self.denied.clear()
            self.deny_start.clear()
            self.deny_assume.clear()
            self.ping_status.clear()
            self.describe_failures.clear()
            self.describe_calls.clear()
            self.assume_calls.clear()

    # -- WSGI --------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/__ssm/data-channel/"):
            return self._data_channel(environ, start_response, path.rsplit("/", 1)[-1])
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        scope = _SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        access_key, region, service = (scope.group(1), scope.group(2), scope.group(3)) if scope else (None, None, "")
        if target.startswith("AmazonSSM."):
            operation = target.split(".", 1)[1]
            handler = {
                "StartSession": self._start,
                "TerminateSession": self._terminate,
                "ResumeSession": self._resume,
                "DescribeInstanceInformation": self._describe,
            }.get(operation)
            if handler is not None:
                body = self._body(environ)
                request = json.loads(body or b"{}")
                return handler(start_response, request, access_key, region)
        if service == "sts":
            body = self._body(environ)
            params = parse_qs(body.decode("utf-8", "replace"))
            if (params.get("Action") or [""])[0] == "AssumeRole":
                return self._assume_role(environ, start_response, (params.get("RoleArn") or [""])[0])
        return self.app(environ, start_response)

    @staticmethod
    def _body(environ) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    @staticmethod
    def _json(start_response, payload: dict, status: str = "200 OK"):
        body = json.dumps(payload).encode()
        # every AWS answer carries a request id (responses.py refuses one that does not: a proxy?)
        headers = [("Content-Type", JSON), ("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4()))]
        start_response(status, headers)
        return [body]

    def _error(self, start_response, code: str, message: str, status: str = "400 Bad Request"):
        return self._json(start_response, {"__type": code, "message": message}, status)

    def _principal(self, access_key: str | None) -> tuple[str | None, str | None, str | None]:
        """(account, role name, role ARN) of the signing key."""
        account = account_of_access_key(access_key) if access_key else None
        with self._lock:
            role_arn = self.roles_by_key.get(access_key or "")
        m = ROLE_RE.match(role_arn or "")
        return account, (m.group(2) if m else None), role_arn

    # -- STS: who got which keys -----------------------------------------------------------------------

    def _assume_role(self, environ, start_response, role_arn: str):
        if role_arn in self.deny_assume:
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
                "arn:aws:iam::999999999999:user/runner is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            ).encode()
            start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
            return [body]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        text = body.decode("utf-8", "replace")
        key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
        if captured["status"].startswith("200") and key:
            with self._lock:
                self.roles_by_key[key.group(1)] = role_arn
                self.assume_calls[role_arn] += 1
                for tag in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
                    self.secrets_seen.update(re.findall(rf"<{tag}>([^<]+)</{tag}>", text))
        start_response(captured["status"], captured["headers"])
        return [body]

    # -- SSM ------------------------------------------------------------------------------------

    @staticmethod
    def _instance(account: str | None, region: str | None, instance_id: str):
        from moto.ec2.models import ec2_backends

        if not account or not region:
            return None
        try:
            return ec2_backends[account][region].get_instance(instance_id)
        except Exception:  # noqa: BLE001 - InvalidInstanceID.NotFound
            return None

    def _start(self, start_response, request: dict, access_key: str | None, region: str | None):
        account, role, role_arn = self._principal(access_key)
        target = str(request.get("Target", ""))
        principal = f"arn:aws:sts::{account}:assumed-role/{role}/session" if role else f"account {account}"
        if (account, role) in self.deny_start:
            with self._lock:
                self.denied.append({"account": account, "role": role, "region": region, "target": target})
            return self._error(
                start_response,
                "AccessDeniedException",
                f"User: {principal} is not authorized to perform: ssm:StartSession on resource: "
                f"arn:aws:ec2:{region}:{account}:instance/{target} because no identity-based policy allows it",
            )
        instance = self._instance(account, region, target)
        if instance is None:
            return self._error(
                start_response, "InvalidTarget", f"{target} is not an instance of account {account} in {region}"
            )
        if self.ping_status.get(target, "Online") != "Online" or instance.state != "running":
            return self._error(start_response, "TargetNotConnected", f"{target} is not connected.")
        session_id = f"{role or 'user'}-{uuid.uuid4().hex[:17]}"
        token = uuid.uuid4().hex + uuid.uuid4().hex
        session = Session(
            session_id=session_id,
            token=token,
            target=target,
            account=account,
            role=role,
            region=region,
            document=request.get("DocumentName"),
            started_at=datetime.now(timezone.utc).isoformat(),
        )
        with self._lock:
            self.sessions[session_id] = session
            self.secrets_seen.add(token)
        host = "127.0.0.1"
        return self._json(
            start_response,
            {
                "SessionId": session_id,
                "TokenValue": token,
                "StreamUrl": f"ws://{host}/__ssm/data-channel/{session_id}?role=publish_subscribe",
            },
        )

    def _terminate(self, start_response, request: dict, access_key: str | None, region: str | None):
        session_id = str(request.get("SessionId", ""))
        account, _role, _arn = self._principal(access_key)
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.account != account:
                return self._error(start_response, "DoesNotExistException", f"session {session_id} does not exist")
            session.terminated = True
            session.events.append(("TerminateSession", account, region))
        return self._json(start_response, {"SessionId": session_id})

    def _resume(self, start_response, request: dict, access_key: str | None, region: str | None):
        session_id = str(request.get("SessionId", ""))
        account, _role, _arn = self._principal(access_key)
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.account != account or session.terminated:
                return self._error(start_response, "DoesNotExistException", f"session {session_id} does not exist")
            session.resumed += 1
            session.events.append(("ResumeSession", account, region))
            return self._json(
                start_response,
                {
                    "SessionId": session_id,
                    "TokenValue": session.token,
                    "StreamUrl": f"ws://127.0.0.1/__ssm/data-channel/{session_id}?role=publish_subscribe",
                },
            )

    def _describe(self, start_response, request: dict, access_key: str | None, region: str | None):
        from moto.ec2.models import ec2_backends

        account, _role, _arn = self._principal(access_key)
        with self._lock:
            self.describe_calls[(account, region)] += 1
        if (account, region) in self.describe_failures:
            return self._error(
                start_response,
                "AccessDeniedException",
                f"User: account {account} is not authorized to perform: ssm:DescribeInstanceInformation",
            )
        items = []
        try:
            instances = ec2_backends[account][region].all_instances() if account and region else []
        except Exception:  # noqa: BLE001
            instances = []
        for instance in sorted(instances, key=lambda i: i.id):
            if instance.state != "running":
                continue
            status = self.ping_status.get(instance.id, "Online")
            if status is None:
                continue
            items.append(
                {
                    "InstanceId": instance.id,
                    "PingStatus": status,
                    "LastPingDateTime": datetime.now(timezone.utc).timestamp(),
                    "AgentVersion": "3.3.0.0",
                    "PlatformType": "Linux",
                    "ResourceType": "EC2Instance",
                }
            )
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or 10)
        page = items[start : start + size]
        answer = {"InstanceInformationList": page}
        if start + size < len(items):
            answer["NextToken"] = str(start + size)
        return self._json(start_response, answer)

    # -- the data channel of the fake session-manager-plugin ----------------------------------------

    def _data_channel(self, environ, start_response, session_id: str):
        token = environ.get("HTTP_X_SSM_TOKEN", "")
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.token != token or session.terminated:
                return self._json(start_response, {"message": "no such session or bad token"}, "403 Forbidden")
            session.channel_opened += 1
        return self._json(
            start_response,
            {"target": session.target, "account": session.account, "role": session.role, "region": session.region},
        )
