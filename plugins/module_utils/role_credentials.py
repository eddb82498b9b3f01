# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role credentials: the controller's source credentials and a refreshable role per account.

* Each account gets botocore ``DeferredRefreshableCredentials`` fed by an
  ``AssumeRoleCredentialFetcher``: the role is assumed once, on first use, and again only when
  the credentials near expiry (``refresh_windows``). The fetcher keeps no cache: the keys live
  only in that credentials object, never on disk.
* STS is called on a regional endpoint (``sts_region``, or the partition's home region).
* The STS client that assumes the roles is made once per (region, source keys), not per account.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import threading
from typing import Any, Callable

from ansible_collections.crossaccount.aws.plugins.module_utils.clients import ClientFactory
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    MissingDependencyError,
    missing_profile,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import home_region, partition_of

try:
    import botocore.credentials
    import botocore.exceptions
except ImportError:  # pragma: no cover - clients.require_botocore() reports it
    pass

# botocore.credentials.RefreshableCredentials keeps its refresh windows in these attributes (private,
# guarded by tests/unit/plugins/module_utils/test_botocore_speedups.py); when absent, botocore's
# defaults apply (more AssumeRole calls for short sessions, nothing wrong).
_REFRESH_ATTRS = ("_advisory_refresh_timeout", "_mandatory_refresh_timeout")


def refresh_windows(duration_seconds: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry at which role credentials are refreshed.

    botocore's defaults (15 and 10 minutes) suit sessions of an hour or more; for a 15-minute
    session they would call AssumeRole before every request. A third and a sixth of the session,
    capped at botocore's defaults, keep one AssumeRole per session for any duration_seconds."""
    return min(900, duration_seconds // 3), min(600, duration_seconds // 6)


class NoCache(dict):
    """A credential cache that keeps nothing (see ``RoleCredentials.for_role``; also used by
    ssm_credentials.py): the refreshable credentials are the only holder of the keys."""

    def __contains__(self, key: object) -> bool:
        return False

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


class RoleCredentials:
    """Source credentials, the STS clients and the role credentials of one run."""

    def __init__(
        self,
        clients: ClientFactory,
        *,
        sts_region: str | None,
        duration_seconds: int,
        role_session_name: str,
        source: Any = None,
    ) -> None:
        self.clients = clients
        self._sts_region = sts_region
        self.duration_seconds = duration_seconds
        self.role_session_name = role_session_name
        self._lock = threading.Lock()
        self._source = source  # None: botocore's credential chain, resolved at the first use
        self._sts_clients: dict[tuple[str, str, str], Any] = {}
        self._sts_creation = threading.Lock()
        self._principal: str | None = None
        self._principal_known = False

    def source(self) -> botocore.credentials.Credentials:
        """The controller's own credentials (never printed, never cached to disk)."""
        with self._lock:
            if self._source is None:
                try:
                    creds = self.clients.session.get_credentials()
                except botocore.exceptions.ProfileNotFound as exc:  # before any AWS call: one line
                    raise missing_profile(exc.kwargs.get("profile"), self.clients.profile) from None
                if creds is None:
                    raise MissingDependencyError(
                        "no AWS credentials found for the controller: use an instance role, SSO, "
                        "AWS_PROFILE/profile or environment variables (never the inventory file)"
                    )
                self._source = creds
            return self._source

    def frozen_source(self) -> botocore.credentials.Credentials:
        """The controller's credentials as they are now (botocore refreshes them first when they
        are close to expiry), as a static credentials object: for a forked scan process, which
        then never resolves them again. Never printed, never written anywhere."""
        frozen = self.source().get_frozen_credentials()
        return botocore.credentials.Credentials(
            frozen.access_key, frozen.secret_key, frozen.token, method="crossaccount-frozen"
        )

    def sts_region(self, partition: str = "aws") -> str:
        return self._sts_region or self.clients.session.get_config_variable("region") or home_region(partition)

    def home_region(self, partition: str) -> str:
        """Where account-level calls (DescribeRegions, Organizations) go for this partition."""
        configured = self._sts_region or self.clients.session.get_config_variable("region")
        if configured and partition_of(configured) == partition:
            return configured
        return home_region(partition)

    def principal(self) -> str | None:
        """ARN of the controller's identity, for error hints. Called only after a failure."""
        with self._lock:
            if self._principal_known:
                return self._principal
        try:
            arn = self.clients.client("sts", self.sts_region(), self.source()).get_caller_identity()["Arn"]
        except Exception:  # noqa: BLE001 - a hint is best effort
            arn = None
        with self._lock:
            self._principal, self._principal_known = arn, True
        return arn

    def for_role(
        self,
        role_arn: str,
        external_id: str | None = None,
        partition: str = "aws",
        *,
        time_fetcher: Callable[[], datetime.datetime] | None = None,
    ) -> botocore.credentials.DeferredRefreshableCredentials:
        """Refreshable credentials of ``role_arn``: AssumeRole happens on first use and again
        before expiry (see ``refresh_windows``); ``time_fetcher`` is botocore's clock (tests)."""
        extra: dict[str, Any] = {"RoleSessionName": self.role_session_name, "DurationSeconds": self.duration_seconds}
        if external_id:
            extra["ExternalId"] = external_id
        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=functools.partial(self._sts_client_with_keys, self.sts_region(partition)),
            source_credentials=self.source(),
            role_arn=role_arn,
            extra_args=extra,
            # The refreshable credentials below are the only holder of the role's keys: a refresh
            # always calls AssumeRole, never hands back a cached copy of the keys being replaced.
            cache=NoCache(),
        )
        kwargs = {} if time_fetcher is None else {"time_fetcher": time_fetcher}
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role", **kwargs
        )
        windows = dict(zip(_REFRESH_ATTRS, refresh_windows(self.duration_seconds)))  # noqa: B905 - both of 2
        for attr, seconds in windows.items():
            if hasattr(credentials, attr):
                setattr(credentials, attr, seconds)
        return credentials

    def _sts_client_with_keys(self, region: str, service: str, **kwargs: Any) -> botocore.client.BaseClient:
        """The fetchers' client creator: one client per (service, region, source keys), shared by
        every account's AssumeRole (botocore clients are thread safe). The memo is keyed by a
        digest, so it holds no extra copy of the keys; new source keys get a new client."""
        digest = hashlib.sha256("\0".join(str(kwargs.get(k) or "") for k in sorted(kwargs)).encode("utf-8")).hexdigest()
        key = (service, region, digest)
        client = self._sts_clients.get(key)
        if client is None:
            # one creator at a time: the opening burst (every worker's first AssumeRole at once)
            # would otherwise make one client per worker, ~4 ms of CPU each, and keep one
            with self._sts_creation:
                client = self._sts_clients.get(key)
                if client is None:
                    client = self._sts_clients[key] = self.clients.client(service, region, **kwargs)
        return client
