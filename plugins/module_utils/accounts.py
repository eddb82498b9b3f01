# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The account list of a run: explicit ``accounts``, ``accounts_file`` and AWS Organizations,
combined (explicit entries win per field, each account scanned once), then sharded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    AccountSettings,
    merge_accounts,
    select_shard,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure

if TYPE_CHECKING:  # annotations only: credentials imports botocore
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext


def resolve_accounts(
    ctx: AwsContext | None,
    settings: AccountSettings,
    log: Callable[[str], None] = lambda msg: None,
) -> tuple[tuple[Account, ...], list[ScanFailure]]:
    """The accounts to scan and the failures met while listing them.

    ``settings.explicit`` already holds ``accounts`` merged over ``accounts_file``; the
    accounts Organizations lists come last, so an explicit entry keeps its role, regions,
    external id and name, and only fills a missing name from Organizations."""
    failures: list[ScanFailure] = []
    discovered: tuple[Account, ...] = ()
    if settings.organization is not None:
        # imported only when used: ansible-core compiles a collection's modules at every run
        from ansible_collections.crossaccount.aws.plugins.module_utils.organizations import discover_accounts

        discovered, org_failures = discover_accounts(ctx, settings, log)
        failures.extend(org_failures)
    accounts = merge_accounts(settings.explicit, discovered)
    return select_shard(accounts, settings.shard), failures
