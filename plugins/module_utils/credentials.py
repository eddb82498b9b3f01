# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run's AWS access: the client factory (clients.py) and the role credentials
(role_credentials.py) that the accounts, Organizations and scan stages share.

Each job lives in its own unit: clients.py makes and shares clients, role_credentials.py holds
the source and per-account role credentials, partitions.py knows the partitions and
botocore_speedups.py the optional botocore speed-ups. This class only puts the first two
together with the run's settings, so that the stages take one argument.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any, Callable, ContextManager, Iterable

from ansible_collections.crossaccount.aws.plugins.module_utils.clients import ClientFactory
from ansible_collections.crossaccount.aws.plugins.module_utils.role_credentials import RoleCredentials


class AwsContext:
    """The client factory and the role credentials of one run.

    The keyword arguments are the fields of ``config.ClientSettings``; their defaults live in the
    inventory plugin's DOCUMENTATION only. ``source``: the controller's credentials when they are
    already known (a forked scan process gets them frozen from its parent), else botocore's chain."""

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
        share_clients: bool = True,
        data_path: str | None = None,
        source: Any = None,
    ) -> None:
        self.clients = ClientFactory(
            profile=profile,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            memoise_clients=memoise_clients,
            share_clients=share_clients,
            data_path=data_path,
        )
        self.roles = RoleCredentials(
            self.clients,
            sts_region=sts_region,
            duration_seconds=duration_seconds,
            role_session_name=role_session_name,
            source=source,
        )

    def source_credentials(self) -> Any:
        return self.roles.source()

    def frozen_source_credentials(self) -> Any:
        return self.roles.frozen_source()

    def home_region(self, partition: str) -> str:
        return self.roles.home_region(partition)

    def principal(self) -> str | None:
        return self.roles.principal()

    def role_credentials(
        self,
        role_arn: str,
        external_id: str | None = None,
        partition: str = "aws",
        *,
        time_fetcher: Callable[[], datetime.datetime] | None = None,
    ) -> Any:
        return self.roles.for_role(role_arn, external_id, partition, time_fetcher=time_fetcher)

    def create_client(self, service: str, region: str, credentials: Any = None) -> Any:
        """A client of its own (controller's credentials when ``credentials`` is None)."""
        return self.clients.client(service, region, credentials)

    def acting_as(self, credentials: Any, service: str, region: str) -> ContextManager[Any]:
        """The (shared) client for calls on behalf of ``credentials``; see ClientFactory.acting_as."""
        return self.clients.acting_as(credentials, service, region)

    def warm(self, service: str, regions: Iterable[str], stop: threading.Event) -> int:
        """Make the shared clients of ``regions`` ahead of their calls; see ClientFactory.warm."""
        return self.clients.warm(service, regions, stop)
