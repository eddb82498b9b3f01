# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client factory: one botocore session, one client configuration, clients made once.

* ``client(service, region, credentials=None)``: a client of its own (the controller's credentials
  when ``credentials`` is None); for the few calls made once per run (STS principal lookup,
  Organizations, the AssumeRole client of role_credentials.py).
* ``acting_as(credentials, service, region)``: the client for a per-account call. With the
  speed-ups (botocore_speedups.py) it is one client per (service, region) shared by every account
  -- the partition follows from the region -- and this thread's requests on it are signed with
  ``credentials`` for the duration of the block; without them (botocore changed shape, or
  ``share_clients=False``) it is a client of its own per call, as botocore is ordinarily used.
* Source credentials come from botocore's standard chain; ``AWS_PROFILE``, ``AWS_CONFIG_FILE``,
  ``AWS_ENDPOINT_URL`` and ``AWS_CA_BUNDLE`` are honoured because botocore reads them itself.
* The User-Agent is fixed once (``crossaccount.aws botocore/<version> Python/<version>``) rather
  than rebuilt by botocore for every request.
* Timestamps stay ISO strings (parsing every LaunchTime/AttachTime with dateutil costs about a
  third of the CPU of a DescribeInstances page, and host variables want JSON-friendly strings).
"""

from __future__ import annotations

import contextlib
import copy
import platform
import threading
from typing import Any, Iterable, Iterator

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_data, responses
from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_speedups as speedups
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import missing_botocore

try:
    import botocore
    import botocore.client
    import botocore.config
    import botocore.session

    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - exercised by ansible-test's import sanity test
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = _exc

USER_AGENT = "crossaccount.aws"


def require_botocore() -> None:
    if not HAS_BOTOCORE:
        raise missing_botocore(BOTOCORE_IMPORT_ERROR)


def _keep_timestamps_as_text(value: str) -> str:
    """botocore's timestamp parser replacement: ISO strings stay strings."""
    return value


class ClientFactory:
    """The shared session and client configuration of one run, and the clients made from them."""

    def __init__(
        self,
        *,
        profile: str | None,
        retry_mode: str,
        max_attempts: int,
        max_pool_connections: int,
        connect_timeout: int,
        read_timeout: int,
        memoise_clients: bool = True,
        share_clients: bool = True,
        data_path: str | None = None,
    ) -> None:
        require_botocore()
        self.profile = profile  # the profile option (None: botocore's chain, AWS_PROFILE included)
        self.session = botocore.session.Session(profile=profile)
        if data_path and not self._configured_data_path():
            # trimmed copies of the models the scan uses (botocore_data.data_cache), searched
            # before botocore's own data: botocore's public data_path setting (AWS_DATA_PATH)
            self.session.set_config_variable("data_path", data_path)
            # botocore's loader, without listing its ~420 data directories or parsing its 1.2 MB
            # endpoint data again (botocore's public data_loader component; botocore_data.py)
            loader = botocore_data.data_loader(data_path)
            if loader is not None:
                self.session.register_component("data_loader", loader)
        # timestamps stay text, and EC2 answers get the faster parser (botocore_speedups.py)
        self.session.register_component(
            "response_parser_factory", speedups.parser_factory(timestamp_parser=_keep_timestamps_as_text)
        )
        # a 2xx answer that is not AWS's (a proxy's page, an empty body) fails, never reads as empty
        responses.install(self.session)
        self._memoised = memoise_clients and speedups.memoise(self.session)
        # clients share one memo of botocore's event-name aliases (botocore_speedups.py)
        speedups.share_alias_memo(self.session)
        self.config = botocore.config.Config(
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # A fixed User-Agent (botocore's documented Config option): botocore otherwise rebuilds
            # its structured User-Agent twice per request, ~10 % of the CPU of a DescribeInstances call.
            user_agent=f"{USER_AGENT} botocore/{botocore.__version__} Python/{platform.python_version()}",
        )
        self._lock = threading.Lock()
        self._share = share_clients
        self._routed = speedups.RoutedCredentials() if share_clients else None
        self._shared: dict[tuple[str, str], Any] = {}

    def _configured_data_path(self) -> Any:
        """The user's own ``data_path`` (AWS_DATA_PATH or ``data_path`` in the profile of the AWS
        config file): their models win, so the trimmed copies are not used then."""
        try:
            return self.session.get_config_variable("data_path")
        except Exception:  # noqa: BLE001 - e.g. a missing profile: reported when credentials are read
            return None

    @property
    def shares_clients(self) -> bool:
        """True while per-account calls go through shared clients (False: the slow path)."""
        return self._share

    # -- clients of their own -------------------------------------------------------------------

    def client(self, service: str, region: str, credentials: Any = None, **kwargs: Any) -> botocore.client.BaseClient:
        """A client of its own; ``credentials`` (a botocore credentials object) default to the
        controller's. ``kwargs`` are explicit keys (``aws_access_key_id`` ...), as botocore takes them.

        Creation is serialised: botocore sessions lazily build shared components and are not safe
        to use for creating clients from several threads at once."""
        with self._lock:
            return self._create(service, region, credentials, **kwargs)

    def _create(self, service: str, region: str, credentials: Any, **kwargs: Any) -> botocore.client.BaseClient:
        session = self.session
        if credentials is not None:
            # a shallow copy shares the loaded models, endpoint data and parsers; botocore's
            # create_client takes the copy's credentials from get_credentials()
            session = copy.copy(self.session)
            session.get_credentials = lambda: credentials
        return speedups.create_client(
            session,
            self._memoised,
            service,
            shared=credentials is not None and credentials is self._routed,
            region_name=region,
            config=self.config,
            **kwargs,
        )

    # -- per-account calls ----------------------------------------------------------------------

    @contextlib.contextmanager
    def acting_as(self, credentials: Any, service: str, region: str) -> Iterator[botocore.client.BaseClient]:
        """The client for calls on behalf of ``credentials`` in ``region``; use it (pages
        included) only inside the block. ``credentials`` None is refused on both paths: a client of
        its own would otherwise sign with the controller's credentials."""
        if credentials is None:
            raise speedups.UnboundCredentialsError("acting_as() needs an account's credentials")
        shared = self._shared_client(service, region) if self._share else None
        if shared is None:
            yield self.client(service, region, credentials)
            return
        with speedups.acting_as(credentials):
            yield shared

    def warm(self, service: str, regions: Iterable[str], stop: threading.Event) -> int:
        """Make the shared clients of ``regions`` now (one at a time, until ``stop`` is set), so
        that calls find them made; returns how many were made. Best effort: a client that cannot
        be made here is left to the call that needs it, which reports why."""
        made = 0
        for region in regions:
            if stop.is_set() or not self._share:
                break
            if (service, region) in self._shared:
                continue
            try:
                if self._shared_client(service, region) is None:
                    break  # sharing just fell back to a client per call: nothing to make ahead
            except Exception:  # noqa: BLE001 - see the docstring
                break
            made += 1
        return made

    def _shared_client(self, service: str, region: str) -> botocore.client.BaseClient | None:
        key = (service, region)
        client = self._shared.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._shared.get(key)
            if client is None and self._share:
                client = self._create(service, region, self._routed)
                if not speedups.routing_works(client, self._routed):
                    self._share = False  # botocore changed shape: a client per call from now on
                    return None
                self._shared[key] = client
            return client
