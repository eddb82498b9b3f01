# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role credentials for SSM sessions, in memory only, assumed about once per role per run.

The connection plugin crossaccount.aws.aws_ssm needs, for each host, credentials of the session
role of the host's own account. ansible-playbook runs every task of every host in a new forked
worker process, so a cache inside the connection plugin would die with each task: a play of 10
tasks over 100 hosts would assume a role 1000 times.

So the credentials are held by the controller's main process, which outlives the workers:

* ``RoleCredentialCache``: botocore ``DeferredRefreshableCredentials`` fed by an
  ``AssumeRoleCredentialFetcher`` per (role ARN, session name, profile, STS region). The role is
  assumed on first use and again only when the credentials near expiry. No file cache: the keys
  live in that object only.
* ``start_broker`` (called by the inventory plugin, in the main process, when ``ssm`` is set):
  serves that cache to the forked workers over a ``multiprocessing.connection`` AF_UNIX socket in
  a private (0700) temporary directory, authenticated with a random key that only the main
  process and its forks know (inherited memory, never written anywhere). The serving thread is a
  daemon thread: it ends with ansible-playbook.
* ``session_credentials`` (called by the connection plugin in a worker): asks the broker; with
  no broker (a static inventory, or AWX running a synced inventory) it assumes the role in the
  worker itself (one AssumeRole per task per host, the documented fallback).

Nothing here writes credentials to disk, host variables, the inventory cache or output.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from typing import Any, Iterable

from ansible_collections.crossaccount.aws.plugins.module_utils import partitions, validation
from ansible_collections.crossaccount.aws.plugins.module_utils.role_credentials import NoCache, refresh_windows

try:
    import botocore.config
    import botocore.credentials
    import botocore.session

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - the connection plugin reports it
    HAS_BOTOCORE = False

ROLE_ARN_RE = validation.ROLE_ARN  # whole (fullmatch), ASCII, the partitions of partitions.py
DEFAULT_DURATION = 3600


class SessionCredentialsError(Exception):
    """AssumeRole of a session role failed: ``code`` is AWS's error code (AccessDenied, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _error(exc: BaseException) -> SessionCredentialsError:
    from ansible_collections.crossaccount.aws.plugins.module_utils.errors import error_code_and_message, scrub

    code, message = error_code_and_message(exc)
    return SessionCredentialsError(code, scrub(" ".join(str(message).split()))[:300])


class RoleCredentialCache:
    """Refreshable credentials per session role, for the life of the process."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        sts_region: str | None = None,
        duration_seconds: int = DEFAULT_DURATION,
        max_attempts: int = 5,
    ) -> None:
        self.profile = profile
        self.sts_region = sts_region
        self.duration_seconds = duration_seconds
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._session = None
        self._roles: dict[tuple[str, str], Any] = {}
        self._role_locks: dict[tuple[str, str], threading.Lock] = {}
        self._sts: dict[str, Any] = {}

    def _botocore_session(self) -> Any:
        if self._session is None:
            session = botocore.session.Session(profile=self.profile)
            session.user_agent_extra = "crossaccount.aws-ssm"
            self._session = session
        return self._session

    def _region_for(self, partition: str) -> str:
        configured = self.sts_region or self._botocore_session().get_config_variable("region")
        home = partitions.home_region(partition)
        if configured and (partition != "aws") == configured.startswith(("cn-", "us-gov-", "us-iso")):
            return configured
        return home

    def _sts_client(self, region: str, service: str, **kwargs: Any) -> Any:
        # one STS client per region and source keys, shared by every role of that partition
        key = region + "\0" + "\0".join(str(kwargs.get(k) or "") for k in sorted(kwargs))
        with self._lock:
            client = self._sts.get(key)
            if client is None:
                config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": self.max_attempts})
                client = self._botocore_session().create_client(service, region_name=region, config=config, **kwargs)
                self._sts[key] = client
            return client

    def credentials(self, role_arn: str, session_name: str) -> Any:
        """The refreshable credentials of ``role_arn`` (AssumeRole on first use and near expiry)."""
        match = ROLE_ARN_RE.fullmatch(role_arn or "")
        if not match:
            raise SessionCredentialsError("InvalidRoleArn", f"{role_arn!r} is not an IAM role ARN"[:200])
        key = (role_arn, session_name)
        with self._lock:
            found = self._roles.get(key)
            if found is not None:
                return found
            source = self._botocore_session().get_credentials()
            if source is None:
                raise SessionCredentialsError(
                    "NoCredentials",
                    "the controller has no AWS credentials (environment, profile, SSO or instance role)",
                )
            region = self._region_for(match.group(1))
            fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
                client_creator=lambda service, **kw: self._sts_client(region, service, **kw),
                source_credentials=source,
                role_arn=role_arn,
                extra_args={"RoleSessionName": session_name, "DurationSeconds": self.duration_seconds},
                cache=NoCache(),  # nothing written to disk; a refresh always calls AssumeRole
            )
            found = botocore.credentials.DeferredRefreshableCredentials(
                refresh_using=fetcher.fetch_credentials, method="assume-role"
            )
            found._advisory_refresh_timeout, found._mandatory_refresh_timeout = refresh_windows(self.duration_seconds)
            self._roles[key] = found
            self._role_locks[key] = threading.Lock()
            return found

    def frozen(self, role_arn: str, session_name: str) -> dict[str, str]:
        """Current keys of ``role_arn`` as a dict, assuming the role when needed. One AssumeRole
        at a time per role: concurrent askers of one role wait for the first one's answer."""
        creds = self.credentials(role_arn, session_name)
        with self._role_locks[(role_arn, session_name)]:
            try:
                frozen = creds.get_frozen_credentials()
            except Exception as exc:  # noqa: BLE001 - becomes one message, no traceback, no keys
                with self._lock:  # a denied role is asked again next time (the policy may be fixed)
                    self._roles.pop((role_arn, session_name), None)
                raise _error(exc) from None
        return {"access_key": frozen.access_key, "secret_key": frozen.secret_key, "token": frozen.token}


# -- the broker: the main process serves its cache to the forked workers -------------------------

# address, authkey, pid; caches (one per profile, sts_region and duration of the sources that
# started it) and routes (session role ARN -> its source's caches key): set in the main process,
# inherited by forks
_BROKER: dict[str, Any] = {}
_BROKER_LOCK = threading.Lock()
_LOCAL: dict[str, RoleCredentialCache] = {}  # the fallback cache of a process without a broker


def broker_running() -> bool:
    return bool(_BROKER)


def start_broker(
    *,
    profile: str | None = None,
    sts_region: str | None = None,
    duration_seconds: int = DEFAULT_DURATION,
    role_arns: Iterable[str] = (),
) -> bool:
    """Serve session credentials to this process's future forks. Each inventory source calls it:
    the session roles of its accounts (``role_arns``) are assumed with its profile, sts_region and
    duration_seconds (a role two sources list keeps the first source's). Returns False when no
    broker can run here (no AF_UNIX sockets): the workers then fall back to their own AssumeRole."""
    from multiprocessing.connection import Listener

    how = (profile, sts_region, duration_seconds)
    with _BROKER_LOCK:
        if not (_BROKER and _BROKER.get("pid") == os.getpid()):
            try:
                authkey = secrets.token_bytes(32)
                listener = Listener(family="AF_UNIX", authkey=authkey)
            except (OSError, ValueError):
                return False
            _BROKER.clear()
            _BROKER.update(address=listener.address, authkey=authkey, pid=os.getpid(), first=how, caches={}, routes={})
            threading.Thread(target=_serve, args=(listener,), name="crossaccount-ssm-credentials", daemon=True).start()
        caches = _BROKER["caches"]
        if how not in caches:
            caches[how] = RoleCredentialCache(profile=profile, sts_region=sts_region, duration_seconds=duration_seconds)
        for role_arn in role_arns:
            _BROKER["routes"].setdefault(role_arn, how)
        return True


def _broker_cache(role_arn: str) -> RoleCredentialCache:
    """The main process's cache for ``role_arn``: that of the source listing its account (else
    that of the first source)."""
    caches = _BROKER["caches"]
    return caches.get(_BROKER["routes"].get(role_arn), caches[_BROKER["first"]])


def _serve(listener: Any) -> None:
    while True:
        try:
            conn = listener.accept()
        except Exception:  # noqa: BLE001 - a failed handshake (wrong key) is ignored
            continue
        threading.Thread(target=_answer, args=(conn,), daemon=True).start()


def _answer(conn: Any) -> None:
    try:
        request = json.loads(conn.recv_bytes(65536))
        try:
            role_arn = str(request["role_arn"])
            reply = {"credentials": _broker_cache(role_arn).frozen(role_arn, str(request["session_name"]))}
        except SessionCredentialsError as exc:
            reply = {"error": {"code": exc.code, "message": exc.message}}
        except Exception as exc:  # noqa: BLE001
            err = _error(exc)
            reply = {"error": {"code": err.code, "message": err.message}}
        conn.send_bytes(json.dumps(reply).encode("utf-8"))
    except Exception:  # noqa: BLE001 - the worker sees a closed connection and falls back
        pass
    finally:
        conn.close()


def _ask_broker(role_arn: str, session_name: str) -> dict[str, str] | None:
    """The broker's answer, or None when there is no usable broker (the caller falls back)."""
    if not _BROKER or _BROKER.get("pid") == os.getpid():
        return None
    from multiprocessing.connection import Client

    try:
        conn = Client(_BROKER["address"], family="AF_UNIX", authkey=_BROKER["authkey"])
    except Exception:  # noqa: BLE001 - the main process is gone or refuses: no broker
        return None
    try:
        conn.send_bytes(json.dumps({"role_arn": role_arn, "session_name": session_name}).encode("utf-8"))
        reply = json.loads(conn.recv_bytes(65536))
    except Exception:  # noqa: BLE001
        return None
    finally:
        conn.close()
    if "error" in reply:
        raise SessionCredentialsError(str(reply["error"]["code"]), str(reply["error"]["message"]))
    return reply["credentials"]


def session_credentials(role_arn: str, session_name: str = "crossaccount-ssm") -> dict[str, str]:
    """{access_key, secret_key, token} of the session role ``role_arn``: from the main process's
    broker when there is one, else assumed in this process (cached for its life)."""
    if not HAS_BOTOCORE:
        raise SessionCredentialsError("MissingDependency", "botocore is not installed on the controller")
    answer = _ask_broker(role_arn, session_name)
    if answer is not None:
        return answer
    if _BROKER.get("pid") == os.getpid():
        return _broker_cache(role_arn).frozen(role_arn, session_name)
    with _BROKER_LOCK:
        cache = _LOCAL.get("cache")
        if cache is None:
            cache = _LOCAL["cache"] = RoleCredentialCache()
    return cache.frozen(role_arn, session_name)
