# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accounts from AWS Organizations.

``discover_accounts`` lists the member accounts (``ListAccounts``, or the accounts of the
``include_ous`` subtrees with ``ListOrganizationalUnitsForParent`` + ``ListAccountsForParent``),
optionally through a role in the management or delegated-administrator account, drops the
``exclude_ous`` subtrees and ``exclude_accounts``, and keeps ACTIVE accounts only. Every call is
paginated. Discovery is all or nothing: a failed call gives one ``ScanFailure`` (account id
``organization``) and no account, never a partial list; explicitly listed accounts are scanned anyway.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ansible_collections.crossaccount.aws.plugins.module_utils import responses
from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
    Account,
    AccountSettings,
    OrganizationSettings,
    parse_role_arn,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.constants import ORGANIZATION_FAILURE_ID
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    CONTROLLER_CREDENTIAL_CODES,
    NotAnAwsResponse,
    ScanFailure,
    bounded,
    controller_credentials_hint,
    describe_failure,
)

if TYPE_CHECKING:  # annotations only: credentials imports botocore
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext

# The ``source`` of the accounts Organizations lists (Account.source; failures of the listing
# itself carry constants.ORGANIZATION_FAILURE_ID as their account id).
SOURCE = "organization"

_ORG_HINTS = {
    "AWSOrganizationsNotInUseException": (
        "the caller's account is not in an organization; set organization.role_arn to a role in the "
        "management or delegated-administrator account"
    ),
    "AccessDeniedException": (
        "call Organizations from the management account or a delegated administrator "
        "(organization.role_arn) with organizations:ListAccounts, ListAccountsForParent and "
        "ListOrganizationalUnitsForParent allowed"
    ),
    "ParentNotFoundException": "an id in organization.include_ous or exclude_ous does not exist in this organization",
    "InvalidInputException": "check the ids in organization.include_ous and exclude_ous",
}


@dataclasses.dataclass(frozen=True)
class OrgAccount:
    """One account as Organizations describes it."""

    id: str
    name: str | None
    status: str


def account_status(entry: Mapping[str, Any]) -> str:
    """The account's state: the newer ``State`` field when present (ACTIVE, PENDING_ACTIVATION,
    SUSPENDED, PENDING_CLOSURE, CLOSED), else the older ``Status`` (ACTIVE, SUSPENDED, PENDING_CLOSURE)."""
    return str(entry.get("State") or entry.get("Status") or "UNKNOWN").upper()


def is_active(entry: Mapping[str, Any]) -> bool:
    return account_status(entry) == "ACTIVE"


def org_account(entry: Mapping[str, Any]) -> OrgAccount:
    name = entry.get("Name")
    return OrgAccount(id=str(entry["Id"]), name=str(name) if name else None, status=account_status(entry))


def select_accounts(
    listed: Iterable[OrgAccount],
    *,
    excluded_by_ou: Iterable[str] = (),
    exclude_accounts: Iterable[str] = (),
    log: Callable[[str], None] = lambda msg: None,
) -> list[OrgAccount]:
    """Active accounts, minus the excluded ones, each once, sorted by id. Says why at ``log``."""
    out: dict[str, OrgAccount] = {}
    skip_ou, skip_id = set(excluded_by_ou), set(exclude_accounts)
    for account in listed:
        if account.id in out:
            continue
        # the name and state are the organization's to write (an account admin renames an account):
        # one line, bounded, as in failure_line, never a forged line of output
        label = account.id + (f" ({bounded(account.name, 120)})" if account.name else "")
        status = bounded(account.status, 40)
        if account.id in skip_id:
            log(f"crossaccount.aws.ec2: organization account {label} skipped: listed in organization.exclude_accounts")
            continue
        if account.id in skip_ou:
            log(f"crossaccount.aws.ec2: organization account {label} skipped: in organization.exclude_ous")
            continue
        if account.status != "ACTIVE":
            log(f"crossaccount.aws.ec2: organization account {label} skipped: it is {status}, not ACTIVE")
            continue
        out[account.id] = account
    return [out[k] for k in sorted(out)]


def to_accounts(selected: Iterable[OrgAccount], settings: AccountSettings) -> tuple[Account, ...]:
    """Accounts to scan with the default role (``role_name``) and external id."""
    out = []
    for account in selected:
        role_arn = settings.role_arn_for(account.id)
        if role_arn is None:  # check_config refuses organization without role_name
            continue
        out.append(
            Account(
                id=account.id,
                role_arn=role_arn,
                name=account.name,
                external_id=settings.external_id,
                source=SOURCE,
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# AWS calls


class _Calls:
    """The Organizations calls, remembering the operation in progress for the failure report."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.operation = "ListAccounts"

    def _pages(self, operation: str, method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.operation = operation
        out: list[dict[str, Any]] = []
        for page in self.client.get_paginator(method).paginate(**kwargs):
            items = page.get(key)
            if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
                raise NotAnAwsResponse(operation, f"the answer has no list of {key}")
            for item in items:
                # ids from the answer become role ARNs, group names and ParentIds: AWS's shapes only
                if key == "Accounts":
                    responses.account_id(item.get("Id"), operation)
                else:
                    responses.parent_id(item.get("Id"), operation)
            out.extend(items)
        return out

    def all_accounts(self) -> list[dict[str, Any]]:
        accounts = self._pages("ListAccounts", "list_accounts", "Accounts")
        if not accounts:
            # every organization has its management account, and ListAccounts lists it: an answer
            # with no account at all is not AWS's, and taken as such it would empty the inventory
            # (and the CMDB export) of the whole organization with no failure listed
            raise NotAnAwsResponse(
                "ListAccounts", "the answer lists no account, not even the management account every organization has"
            )
        return accounts

    def accounts_under(self, parents: Iterable[str]) -> list[dict[str, Any]]:
        """Accounts of the given roots/OUs and of every OU below them (breadth first, each OU once)."""
        queue = list(dict.fromkeys(parents))
        seen = set(queue)
        out: list[dict[str, Any]] = []
        while queue:
            parent = queue.pop(0)
            out.extend(self._pages("ListAccountsForParent", "list_accounts_for_parent", "Accounts", ParentId=parent))
            children = self._pages(
                "ListOrganizationalUnitsForParent",
                "list_organizational_units_for_parent",
                "OrganizationalUnits",
                ParentId=parent,
            )
            for ou in children:
                if ou["Id"] not in seen:
                    seen.add(ou["Id"])
                    queue.append(ou["Id"])
        return out


def _failure(ctx: AwsContext, exc: BaseException, org: OrganizationSettings, operation: str) -> ScanFailure:
    principal = ctx.principal() if operation == "AssumeRole" else None
    failure = describe_failure(
        exc,
        account_id=ORGANIZATION_FAILURE_ID,
        account_name=None,
        region=None,
        operation=operation,
        principal=principal,
        role_arn=org.role_arn,
        external_id=bool(org.external_id),
    )
    extra = _ORG_HINTS.get(failure.code) if operation != "AssumeRole" else None
    hint = failure.hint or extra or ""
    if not org.role_arn and failure.code in CONTROLLER_CREDENTIAL_CODES:
        # Organizations called with the controller's own credentials: they are what was refused
        hint = controller_credentials_hint(failure.code).replace("the ones that call sts:AssumeRole", "used here")
    elif operation == "AssumeRole":
        hint = (hint + "; " if hint else "") + "the role is organization.role_arn"
    message = "account discovery through AWS Organizations failed, accounts it would list are not scanned: "
    return dataclasses.replace(failure, message=message + failure.message, hint=hint)


def discover_accounts(
    ctx: AwsContext,
    settings: AccountSettings,
    log: Callable[[str], None] = lambda msg: None,
) -> tuple[tuple[Account, ...], list[ScanFailure]]:
    """The ACTIVE accounts Organizations lists for ``settings.organization``, and the failures."""
    org = settings.organization
    if org is None:
        return (), []
    partition = settings.partition
    calls: _Calls | None = None
    operation = "AssumeRole"
    try:
        if org.role_arn:
            partition, _org_account = parse_role_arn(org.role_arn, "organization.role_arn")
            credentials = ctx.role_credentials(org.role_arn, org.external_id, partition)
            credentials.get_frozen_credentials()  # assume now: a denial is reported as such
        else:
            credentials = ctx.source_credentials()
        operation = "ListAccounts"
        calls = _Calls(ctx.create_client("organizations", ctx.home_region(partition), credentials))
        listed = calls.accounts_under(org.include_ous) if org.include_ous else calls.all_accounts()
        excluded = {str(a["Id"]) for a in calls.accounts_under(org.exclude_ous)} if org.exclude_ous else set()
    except Exception as exc:  # noqa: BLE001 - reported, and the explicit accounts are scanned anyway
        return (), [_failure(ctx, exc, org, calls.operation if calls is not None else operation)]
    selected = select_accounts(
        (org_account(a) for a in listed),
        excluded_by_ou=excluded,
        exclude_accounts=org.exclude_accounts,
        log=log,
    )
    log(f"crossaccount.aws.ec2: AWS Organizations lists {len(selected)} active account(s) to scan")
    return to_accounts(selected, settings), []
