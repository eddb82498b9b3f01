# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials and clients: one shared botocore session, refreshable role credentials per account.

* Source credentials come from botocore's standard chain (environment, profile, SSO, instance
  profile); ``AWS_PROFILE``, ``AWS_CONFIG_FILE``, ``AWS_ENDPOINT_URL`` and ``AWS_CA_BUNDLE`` are
  honoured because botocore reads them itself.
* Each account gets botocore ``DeferredRefreshableCredentials`` fed by an
  ``AssumeRoleCredentialFetcher``: the role is assumed once, on first use, and again only when
  the credentials near expiry (``refresh_windows``). The fetcher keeps no cache: the keys live
  only in that credentials object, never on disk.
* STS is called on a regional endpoint (``sts_region``, or the partition's default region).
* Clients for an account are created from a shallow copy of the shared session whose
  ``get_credentials`` returns the account's credentials, so the loaded service models, the
  endpoint data and the parsers are shared by every client.
* botocore rebuilds the client class (~830 EC2 method stubs) and a fresh service model for every
  client: ~30 ms each, serialised. ``_MemoClientCreator`` keeps both per session (~5 ms per
  client); credentials, region, endpoint, config and event hooks stay per client. When botocore's
  internals are not the expected ones, clients are created the ordinary way.
* The STS client that assumes the roles is made once per (region, source keys), not per account.
"""

from __future__ import annotations

import copy
import datetime
import functools
import hashlib
import inspect
import threading
import weakref
from typing import Any, Callable

from ansible_collections.crossaccount.aws.plugins.module_utils.errors import MissingDependencyError

try:
    import botocore
    import botocore.client
    import botocore.config
    import botocore.credentials
    import botocore.session

    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - exercised by ansible-test's import sanity test
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = _exc

# The region where STS and DescribeRegions are called when nothing else says so.
PARTITION_HOME = {
    "aws": "us-east-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-iso": "us-iso-east-1",
    "aws-iso-b": "us-isob-east-1",
}

USER_AGENT = "crossaccount.aws"


def require_botocore() -> None:
    if not HAS_BOTOCORE:
        raise MissingDependencyError(
            "the botocore and boto3 Python packages are missing on the controller "
            f"({BOTOCORE_IMPORT_ERROR}); install them with: pip install boto3"
        )


def _keep_timestamps_as_text(value: str) -> str:
    """botocore's timestamp parser replacement: ISO strings stay strings.

    Parsing every LaunchTime/AttachTime with dateutil costs about a third of the CPU time of a
    DescribeInstances page, and host variables want JSON-friendly strings anyway."""
    return value


def refresh_windows(duration_seconds: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry at which role credentials are refreshed.

    botocore's defaults (15 and 10 minutes) suit sessions of an hour or more; for a 15-minute
    session they would call AssumeRole before every request. A third and a sixth of the session,
    capped at botocore's defaults, keep one AssumeRole per session for any duration_seconds."""
    return min(900, duration_seconds // 3), min(600, duration_seconds // 6)


# data loader of an AwsContext session -> memo of service models and client classes. Keyed by the
# loader (one per botocore session, shared by its shallow copies) so no other session is touched.
_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Held while botocore.client.ClientCreator is swapped for _MemoClientCreator (see _create_client).
_SWAP_LOCK = threading.Lock()


def _memo_creator_class() -> type | None:
    """A ``botocore.client.ClientCreator`` subclass that memoises the service model and the client
    class per session, or None when botocore's private methods are not the expected ones."""
    base = getattr(getattr(botocore, "client", None), "ClientCreator", None)
    try:
        load = list(inspect.signature(base._load_service_model).parameters)
        build = list(inspect.signature(base._create_client_class).parameters)
    except (AttributeError, TypeError, ValueError):
        return None
    if load != ["self", "service_name", "api_version"] or build != ["self", "service_name", "service_model"]:
        return None

    class _MemoClientCreator(base):
        """Same as botocore's, except that for a memoised session the service model and the client
        class are built once. Both are read-only after creation: every per-client part
        (credentials, region, endpoint, config, event hooks, HTTP pool) is still made per client.
        For any other session it is botocore's class unchanged."""

        def _load_service_model(self, service_name: str, api_version: str | None = None) -> Any:
            memo = _MEMOS.get(self._loader)
            if memo is None:
                return super()._load_service_model(service_name, api_version)
            key = ("model", service_name, api_version)
            if key not in memo:
                memo[key] = super()._load_service_model(service_name, api_version)
            return memo[key]

        def _create_client_class(self, service_name: str, service_model: Any) -> type:
            memo = _MEMOS.get(self._loader)
            if memo is None:
                return super()._create_client_class(service_name, service_model)
            key = ("class", service_name)
            cached = memo.get(key)
            # the class depends on the model and on the 'creating-client-class' handlers
            if cached is None or cached[0] is not service_model or cached[1] is not self._event_emitter:
                cached = (service_model, self._event_emitter, super()._create_client_class(service_name, service_model))
                memo[key] = cached
            return cached[2]

    return _MemoClientCreator


_MEMO_CREATOR = _memo_creator_class() if HAS_BOTOCORE else None


def _create_client(
    session: botocore.session.Session, memoised: bool, service: str, **kwargs: Any
) -> botocore.client.BaseClient:
    """``session.create_client(service, **kwargs)``, through ``_MemoClientCreator`` when possible.

    botocore's Session.create_client looks ``botocore.client.ClientCreator`` up at call time; it is
    swapped for the subclass only for the duration of the call, under a module lock. The subclass
    behaves exactly like botocore's for any session that is not memoised."""
    if not memoised or _MEMO_CREATOR is None:
        return session.create_client(service, **kwargs)
    with _SWAP_LOCK:
        original = botocore.client.ClientCreator
        botocore.client.ClientCreator = _MEMO_CREATOR
        try:
            return session.create_client(service, **kwargs)
        finally:
            botocore.client.ClientCreator = original


class _NoCache(dict):
    """A credential cache that keeps nothing (see ``AwsContext.role_credentials``)."""

    def __contains__(self, key: object) -> bool:
        return False

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


class AwsContext:
    """The shared session, client configuration and per-account credentials of one run.

    The keyword arguments are the fields of ``config.ClientSettings``; their defaults live in the
    inventory plugin's DOCUMENTATION only."""

    def __init__(
        self,
        *,
        profile: str | None,
        sts_region: str | None,
        retry_mode: str,
        max_attempts: int,
        max_pool_connections: int,
        connect_timeout: int,
        read_timeout: int,
        duration_seconds: int,
        role_session_name: str,
        memoise_clients: bool = True,
    ) -> None:
        require_botocore()
        self.session = botocore.session.Session(profile=profile)
        self.session.user_agent_extra = USER_AGENT
        self.session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_keep_timestamps_as_text
        )
        self._memoised = self._memoise(memoise_clients)
        self._sts_clients: dict[tuple[str, str, str], Any] = {}
        self.client_config = botocore.config.Config(
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra=USER_AGENT,
        )
        self._sts_region = sts_region
        self.duration_seconds = duration_seconds
        self.role_session_name = role_session_name
        self._lock = threading.Lock()
        self._source_credentials = None
        self._principal: str | None = None
        self._principal_known = False

    def _memoise(self, wanted: bool) -> bool:
        if not wanted or _MEMO_CREATOR is None:
            return False
        try:
            _MEMOS[self.session.get_component("data_loader")] = {}
        except Exception:  # noqa: BLE001 - no memo is only slower
            return False
        return True

    # -- source credentials ---------------------------------------------------------------------

    def source_credentials(self) -> botocore.credentials.Credentials:
        """The controller's own credentials (never printed, never cached to disk)."""
        with self._lock:
            if self._source_credentials is None:
                creds = self.session.get_credentials()
                if creds is None:
                    raise MissingDependencyError(
                        "no AWS credentials found for the controller: use an instance role, SSO, "
                        "AWS_PROFILE/profile or environment variables (never the inventory file)"
                    )
                self._source_credentials = creds
            return self._source_credentials

    def sts_region(self, partition: str = "aws") -> str:
        return (
            self._sts_region or self.session.get_config_variable("region") or PARTITION_HOME.get(partition, "us-east-1")
        )

    def home_region(self, partition: str) -> str:
        """Where account-level calls (DescribeRegions) go for this partition."""
        configured = self._sts_region or self.session.get_config_variable("region")
        if configured and self.partition_of_region(configured) == partition:
            return configured
        return PARTITION_HOME.get(partition, "us-east-1")

    def partition_of_region(self, region: str) -> str | None:
        for partition in self.session.get_available_partitions():
            if region in self.session.get_available_regions("ec2", partition_name=partition):
                return partition
        return None

    def principal(self) -> str | None:
        """ARN of the controller's identity, for error hints. Called only after a failure."""
        with self._lock:
            if self._principal_known:
                return self._principal
        try:
            arn = self.create_client("sts", self.sts_region(), self.source_credentials()).get_caller_identity()["Arn"]
        except Exception:  # noqa: BLE001 - a hint is best effort
            arn = None
        with self._lock:
            self._principal, self._principal_known = arn, True
        return arn

    # -- clients --------------------------------------------------------------------------------

    def create_client(
        self, service: str, region: str, credentials: botocore.credentials.Credentials | None = None
    ) -> botocore.client.BaseClient:
        """A client on the shared session; ``credentials`` default to the source credentials.

        Client creation is serialised: botocore sessions lazily build shared components and are
        not safe to use for creating clients from several threads at once."""
        with self._lock:
            if credentials is None:
                return _create_client(
                    self.session, self._memoised, service, region_name=region, config=self.client_config
                )
            child = copy.copy(self.session)
            child.get_credentials = lambda: credentials
            return _create_client(child, self._memoised, service, region_name=region, config=self.client_config)

    def role_credentials(
        self,
        role_arn: str,
        external_id: str | None = None,
        partition: str = "aws",
        *,
        time_fetcher: Callable[[], datetime.datetime] | None = None,
    ) -> botocore.credentials.DeferredRefreshableCredentials:
        """Refreshable credentials of ``role_arn``: AssumeRole happens on first use and again
        before expiry (see ``refresh_windows``); ``time_fetcher`` is botocore's clock (tests)."""
        source = self.source_credentials()
        extra: dict[str, Any] = {
            "RoleSessionName": self.role_session_name,
            "DurationSeconds": self.duration_seconds,
        }
        if external_id:
            extra["ExternalId"] = external_id
        sts_region = self.sts_region(partition)
        creator = functools.partial(self._sts_client_with_keys, sts_region)
        advisory, mandatory = refresh_windows(self.duration_seconds)
        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=creator,
            source_credentials=source,
            role_arn=role_arn,
            extra_args=extra,
            # The refreshable credentials below are the only holder of the role's keys: a refresh
            # always calls AssumeRole, never hands back a cached copy of the keys being replaced.
            cache=_NoCache(),
        )
        kwargs = {} if time_fetcher is None else {"time_fetcher": time_fetcher}
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role", **kwargs
        )
        credentials._advisory_refresh_timeout = advisory
        credentials._mandatory_refresh_timeout = mandatory
        return credentials

    def _sts_client_with_keys(self, region: str, service: str, **kwargs: Any) -> botocore.client.BaseClient:
        """The fetchers' client creator: one client per (service, region, source keys), shared by
        every account's AssumeRole (botocore clients are thread safe). The memo is keyed by a
        digest, so it holds no extra copy of the keys; new source keys get a new client."""
        digest = hashlib.sha256("\0".join(str(kwargs.get(k) or "") for k in sorted(kwargs)).encode("utf-8")).hexdigest()
        key = (service, region, digest)
        with self._lock:
            client = self._sts_clients.get(key)
            if client is None:
                client = _create_client(
                    self.session, self._memoised, service, region_name=region, config=self.client_config, **kwargs
                )
                self._sts_clients[key] = client
            return client
