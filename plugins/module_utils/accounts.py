# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The account list of a run: explicit ``accounts``, ``accounts_file`` and AWS Organizations,
combined (explicit entries win per field, each account scanned once), then sharded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    Settings,
    merge_accounts,
    select_shard,
    shard_of,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ScanFailure
from ansible_collections.crossaccount.aws.plugins.module_utils.organizations import (
    ORGANIZATION_FAILURE_ID,
    discover_accounts,
)

if TYPE_CHECKING:  # annotations only: credentials imports botocore
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext

NOT_DISCOVERED_CODE = "OrganizationDiscoveryFailed"


def resolve_accounts(
    ctx: AwsContext | None,
    settings: Settings,
    log: Callable[[str], None] = lambda msg: None,
) -> tuple[tuple[Account, ...], list[ScanFailure]]:
    """The accounts to scan and the failures met while listing them.

    ``settings.accounts`` already holds ``accounts`` merged over ``accounts_file``; the
    accounts Organizations lists come last, so an explicit entry keeps its role, regions,
    external id and name, and only fills a missing name from Organizations."""
    failures: list[ScanFailure] = []
    discovered: tuple[Account, ...] = ()
    if settings.organization is not None:
        discovered, org_failures = discover_accounts(ctx, settings, log)
        failures.extend(org_failures)
    accounts = merge_accounts(settings.accounts, discovered)
    return select_shard(accounts, settings.shard), failures


def undiscovered_accounts(
    previous: Mapping[str, Any] | None,
    accounts: Iterable[Account],
    failures: Iterable[ScanFailure],
    shard: tuple[int, int] | None = None,
) -> list[ScanFailure]:
    """After a failed Organizations discovery: one account-level failure for every account of the
    previous snapshot (the inventory cache) that is not scanned now.

    The snapshot keeps the hosts of failed accounts from the last scan (stale-if-error), so with
    the cache on, the hosts of accounts only Organizations knew are kept, marked stale, instead of
    vanishing; each such account is also named in ``crossaccount_errors``. Without a cache there is
    no previous list: only the ``organization`` failure itself is reported."""
    if not any(f.account_id == ORGANIZATION_FAILURE_ID for f in failures):
        return []
    if not isinstance(previous, Mapping) or not isinstance(previous.get("entries"), Mapping):
        return []
    scanned = {a.id for a in accounts}
    names: dict[str, str | None] = {}
    for entry in previous["entries"].values():
        account_id = entry.get("account_id")
        if not isinstance(account_id, str) or account_id in scanned:
            continue
        if shard is not None and shard_of(account_id, shard[1]) != shard[0]:
            continue
        names.setdefault(account_id, entry.get("account_name"))
    return [
        ScanFailure(
            account_id=account_id,
            account_name=names[account_id],
            region=None,
            code=NOT_DISCOVERED_CODE,
            message="not scanned: the AWS Organizations discovery that listed this account failed",
            hint="see the 'organization' entry of crossaccount_errors",
        )
        for account_id in sorted(names)
    ]
