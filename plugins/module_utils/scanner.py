# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scan: (account, region) tasks on one bounded thread pool.

Per account: assume the role once (the credentials then refresh themselves) and, unless the
regions are configured, call DescribeRegions once with the account's own credentials. Per
account-region: page through DescribeInstances (1000 per page). A failure is captured as a
``ScanFailure`` for that account or account-region; nothing else is dropped. A region whose
pagination fails half way contributes no partial list: it is reported as failed instead.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ansible_collections.crossaccount.aws.plugins.module_utils import responses
from ansible_collections.crossaccount.aws.plugins.module_utils.config import ACCOUNT_ID_RE, Account, ScanSettings
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (
    NotAnAwsResponse,
    ScanFailure,
    bounded,
    controller_refusal_for,
    describe_failure,
    error_code_and_message,
    failed_operation,
    is_controller_failure,
    no_regions_left,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import instance_record
from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import ENABLED_BY_DEFAULT
from ansible_collections.crossaccount.aws.plugins.module_utils.regions import (
    describe_enabled_regions,
    needs_discovery,
    select_regions,
)

if TYPE_CHECKING:  # annotations only: credentials imports botocore
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RegionResult:
    account: Account
    region: str
    records: list[dict[str, Any]]
    scanned_at: str
    # failures that cost no host: the optional SSM discovery of this account-region (ssm.py)
    failures: list[ScanFailure] = field(default_factory=list)


@dataclass
class Progress:
    accounts_total: int = 0
    accounts_assumed: int = 0
    accounts_failed: int = 0
    tasks_total: int = 0
    tasks_done: int = 0
    tasks_failed: int = 0
    instances: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        return (
            f"accounts assumed {self.accounts_assumed}/{self.accounts_total}"
            + (f" ({self.accounts_failed} failed)" if self.accounts_failed else "")
            + f", account-regions done {self.tasks_done}/{self.tasks_total}"
            + (f" ({self.tasks_failed} failed)" if self.tasks_failed else "")
            + f", instances {self.instances}, elapsed {self.elapsed:.1f}s"
        )


@dataclass
class ScanResult:
    regions: list[RegionResult]
    failures: list[ScanFailure]
    progress: Progress
    # account id -> regions that were planned (empty when the account failed before planning)
    planned: dict[str, list[str]] = field(default_factory=dict)

    def sort(self) -> None:
        """Failures and account-regions in account, then region, order: the same snapshot
        whatever order the tasks (or processes) finished in."""
        self.failures.sort(key=lambda f: (f.account_id, f.region or ""))
        self.regions.sort(key=lambda r: (r.account.id, r.region))


class _AccountPlan:
    __slots__ = ("account", "credentials", "regions")

    def __init__(self, account: Account, credentials: Any, regions: list[str]) -> None:
        self.account = account
        self.credentials = credentials
        self.regions = regions


def _fail(ctx: AwsContext, exc: BaseException, account: Account, region: str | None, operation: str) -> ScanFailure:
    # A role refresh in the middle of a region's scan fails as an AssumeRole: name the principal then too
    # (not when STS refused the controller's own credentials: GetCallerIdentity would be refused as well).
    controller = is_controller_failure(error_code_and_message(exc)[0], failed_operation(exc, operation))
    principal = ctx.principal() if failed_operation(exc, operation) == "AssumeRole" and not controller else None
    sts_region = getattr(ctx, "sts_region", None)
    return describe_failure(
        exc,
        account_id=account.id,
        account_name=account.name,
        region=region,
        operation=operation,
        principal=principal,
        role_arn=account.role_arn,
        external_id=bool(account.external_id),
        sts_region=sts_region(account.partition) if controller and callable(sts_region) else None,
    )


def prepare_account(
    ctx: AwsContext, settings: ScanSettings, account: Account, refused: dict[str, ScanFailure] | None = None
) -> _AccountPlan | ScanFailure:
    """AssumeRole (and DescribeRegions when needed) for one account.

    ``refused`` (partition -> failure) is shared by the accounts of one scan: once STS refused the
    controller's own credentials, the other accounts of that partition are not tried again."""
    if refused is not None and account.partition in refused:
        return controller_refusal_for(refused[account.partition], account.id, account.name)
    try:
        credentials = ctx.role_credentials(account.role_arn, account.external_id, account.partition)
        credentials.get_frozen_credentials()  # assume the role now, so a denial is one account-level failure
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none aborts the scan
        failure = _fail(ctx, exc, account, None, "AssumeRole")
        if refused is not None and is_controller_failure(failure.code, "AssumeRole"):
            refused.setdefault(account.partition, failure)
        return failure
    available = None
    if needs_discovery(account.regions, settings.regions):
        try:
            with ctx.acting_as(credentials, "ec2", ctx.home_region(account.partition)) as client:
                available = describe_enabled_regions(client, account.partition)
        except Exception as exc:  # noqa: BLE001
            return _fail(ctx, exc, account, None, "DescribeRegions")
    regions = select_regions(
        available, account_regions=account.regions, global_regions=settings.regions, exclude=settings.exclude_regions
    )
    if not regions:  # every region the account has is excluded: nothing scanned is not "no instances"
        return no_regions_left(account.id, account.name, available or (), settings.exclude_regions)
    return _AccountPlan(account, credentials, regions)


PAGE_SIZE = 1000  # DescribeInstances' largest page
MAX_PAGES = 10_000  # 10 million instances in one account-region: more is a proxy paging forever


def describe_instances_pages(client: Any, filters: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every page of one DescribeInstances query (responses.token_pages: plain calls following
    NextToken; an answer that would never end fails the query)."""
    return responses.token_pages(
        client.describe_instances,
        "DescribeInstances",
        {"Filters": filters, "MaxResults": PAGE_SIZE},
        max_pages=MAX_PAGES,
        page_size=PAGE_SIZE,
    )


def scan_region(ctx: AwsContext, settings: ScanSettings, plan: _AccountPlan, region: str) -> RegionResult | ScanFailure:
    """Every instance of one account-region, or a failure (never a partial list)."""
    account = plan.account
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        # every page is fetched inside the block: the shared client signs them as this account
        with ctx.acting_as(plan.credentials, "ec2", region) as client:
            # aws_ec2's exclude_filters: the instances they match are left out (one query each)
            for filters in settings.exclusion_queries():
                seen.update(_instance_ids(client, filters, account.id, region))
            # `filters`, then one query per include_filters entry: united, each instance once
            for filters in settings.instance_queries():
                for page in describe_instances_pages(client, filters):
                    for reservation in page.get("Reservations", []):
                        _check_owner(reservation, account.id)
                        for instance in reservation.get("Instances", []):
                            iid = responses.instance_id(instance.get("InstanceId"))
                            _check_zone(instance, iid, region)
                            if iid in seen:
                                continue
                            seen.add(iid)
                            records.append(
                                instance_record(
                                    instance,
                                    reservation=reservation,
                                    account_id=account.id,
                                    account_name=account.name,
                                    region=region,
                                    attributes=settings.attributes,
                                )
                            )
    except Exception as exc:  # noqa: BLE001 - any failed query fails the account-region: no partial list
        return _fail(ctx, exc, account, region, "DescribeInstances")
    result = RegionResult(account=account, region=region, records=records, scanned_at=utc_now())
    if getattr(settings, "ssm_discovery", False) and records:
        _ssm_discovery(ctx, plan, region, result)
    return result


def _check_owner(reservation: Any, account_id: str) -> None:
    """An account's DescribeInstances lists its own reservations only (OwnerId is the account whose
    credentials signed the call). A reservation of another account is an answer meant for someone
    else (a proxy or cache in between): that account-region fails, never files another account's
    instances under this one."""
    if not isinstance(reservation, dict) or reservation.get("OwnerId") is None:
        # AWS always names the owner: an answer that does not cannot be checked, so it is not trusted
        raise NotAnAwsResponse(
            "DescribeInstances",
            f"the answer lists a reservation with no OwnerId (AWS always gives it), for account {account_id}",
        )
    owner = reservation["OwnerId"]
    if owner != account_id:
        shown = owner if isinstance(owner, str) and ACCOUNT_ID_RE.fullmatch(owner) else "another account"
        raise NotAnAwsResponse(
            "DescribeInstances", f"the answer lists a reservation of {shown}, not of account {account_id}"
        )


def _check_zone(instance: Any, instance_id: str, region: str) -> None:
    """An instance a region lists is in an availability zone of that region (``us-east-1a``, or a
    Local or Wavelength Zone such as ``us-west-2-lax-1a``). One in another region's zone is an
    answer meant for another region (a proxy or cache keyed on the wrong thing): that
    account-region fails, never files another region's instances under this one."""
    placement = instance.get("Placement") if isinstance(instance, dict) else None
    zone = placement.get("AvailabilityZone") if isinstance(placement, dict) else None
    if zone is None:
        return
    rest = zone[len(region) :] if isinstance(zone, str) and zone.startswith(region) else ""
    if not (rest[:1].isascii() and (rest[:1].isalpha() or rest[:1] == "-")):
        raise NotAnAwsResponse(
            "DescribeInstances",
            f"the answer lists instance {instance_id} in availability zone {bounded(repr(zone), 60)}, "
            f"not a zone of region {region}",
        )


def refuse_repeated_instances(result: ScanResult) -> None:
    """Instance ids are unique in AWS: one that two account-regions list means that one of the two
    answers was meant for another account or region (a proxy or cache keyed on the wrong thing),
    and nothing tells which. Both account-regions fail (their hosts are kept stale from the cache
    if there is one), rather than one instance's data taking the other's name."""
    where: dict[str, list[RegionResult]] = {}
    for region_result in result.regions:
        for record in region_result.records:
            where.setdefault(str(record["instance_id"]), []).append(region_result)
    failed: dict[int, tuple[RegionResult, str, RegionResult]] = {}
    for iid, results in where.items():
        for one in results:
            other = next((r for r in results if r is not one), None)
            if other is not None and id(one) not in failed:
                failed[id(one)] = (one, iid, other)
    if not failed:
        return
    for one, iid, other in failed.values():
        problem = (
            f"the answer lists instance {iid}, which account {other.account.id} region {other.region} lists too: "
            "instance ids are unique in AWS, so one of the two answers was meant for another account or region"
        )
        result.failures.append(
            describe_failure(
                NotAnAwsResponse("DescribeInstances", problem),
                account_id=one.account.id,
                account_name=one.account.name,
                region=one.region,
                operation="DescribeInstances",
            )
        )
        result.progress.tasks_failed += 1
        result.progress.instances -= len(one.records)
    result.regions = [r for r in result.regions if id(r) not in failed]
    result.sort()


def _ssm_discovery(ctx: AwsContext, plan: _AccountPlan, region: str, result: RegionResult) -> None:
    """DescribeInstanceInformation of one account-region, on the same pool thread. A failure
    costs no host: it is one failure entry, and these hosts get no ssm_ping_status."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import add_ping_status

    try:
        add_ping_status(result.records, ctx.create_client("ssm", region, plan.credentials))
    except Exception as exc:  # noqa: BLE001
        result.failures.append(_fail(ctx, exc, plan.account, region, "DescribeInstanceInformation"))


def _instance_ids(client: Any, filters: list[dict[str, Any]], account_id: str, region: str) -> set[str]:
    """The ids of the instances one query matches (exclude_filters). Checked as the listing is: an
    answer meant for another account or region must not leave this one's instances out either."""
    ids: set[str] = set()
    for page in describe_instances_pages(client, filters):
        for reservation in page.get("Reservations", []):
            _check_owner(reservation, account_id)
            for instance in reservation.get("Instances", []):
                iid = responses.instance_id(instance.get("InstanceId"))
                _check_zone(instance, iid, region)
                ids.add(iid)
    return ids


# The interpreter's thread switch interval while the pool runs (sys.setswitchinterval; Python's
# default is 0.005 s). A thread back from the network that waits for the GIL while another one
# parses forces a hand-over (a thread wake-up) after the interval: with dozens of threads, each a
# short burst of CPU between two network waits, that happened far more often at 5 ms than the work
# needs. At 0.05 s, 200 accounts x 17 regions scanned in 12-14 % less time with 3-5 % less CPU;
# the latency-bound seed case did not change (docs/benchmarks.md).
SCAN_SWITCH_INTERVAL = 0.05


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` for the duration of the block, then the interval that was
    set before; a longer interval already set (by the user's own code) is kept as it is. The setting
    is process-wide: of two scans running at once in threads (not something the plugin does), the
    one that ends first gives the old interval back and the other finishes at it, only slower."""
    before = sys.getswitchinterval()
    if before >= seconds:
        yield
        return
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def scan(
    ctx: AwsContext,
    settings: ScanSettings,
    accounts: Iterable[Account],
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanResult:
    """Scan every account and region on one pool of ``settings.max_workers`` threads."""
    accounts = list(accounts)
    progress = Progress(accounts_total=len(accounts))
    result = ScanResult(regions=[], failures=[], progress=progress)
    # Finished tasks arrive on a queue (a done-callback per future), so the loop costs the same for
    # the last of 17,000 account-regions as for the first (concurrent.futures.wait would re-arm a
    # waiter on every pending future at every completion).
    finished: queue.SimpleQueue = queue.SimpleQueue()
    outstanding = 0

    def submit(pool: ThreadPoolExecutor, plan: _AccountPlan | None, fn: Callable, *args: Any) -> None:
        nonlocal outstanding
        future = pool.submit(fn, ctx, settings, *args)
        outstanding += 1
        future.add_done_callback(lambda f: finished.put((plan, f)))

    refused: dict[str, ScanFailure] = {}  # partition -> STS refusal of the controller's own credentials
    stop_warming = threading.Event()
    pool_threads = ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="crossaccount")
    with switch_interval(SCAN_SWITCH_INTERVAL), pool_threads as pool:
        for account in accounts:
            submit(pool, None, prepare_account, account, refused)
        # One more task makes the shared region clients while the AssumeRole calls are in flight
        # (~3-4 ms of CPU each, otherwise spent when the scan is CPU-bound); see warm_up_regions.
        pool.submit(_warm_up, ctx, settings, accounts, stop_warming)
        try:
            while outstanding:
                plan, future = finished.get()
                outstanding -= 1
                outcome = future.result()
                if plan is None:  # an account finished its preparation
                    if isinstance(outcome, ScanFailure):
                        result.failures.append(outcome)
                        progress.accounts_failed += 1
                    else:
                        progress.accounts_assumed += 1
                        result.planned[outcome.account.id] = list(outcome.regions)
                        progress.tasks_total += len(outcome.regions)
                        for region in outcome.regions:
                            submit(pool, outcome, scan_region, outcome, region)
                else:
                    progress.tasks_done += 1
                    if isinstance(outcome, ScanFailure):
                        result.failures.append(outcome)
                        progress.tasks_failed += 1
                    else:
                        result.regions.append(outcome)
                        result.failures.extend(outcome.failures)
                        progress.instances += len(outcome.records)
                if on_progress is not None:
                    on_progress(progress)
        finally:
            stop_warming.set()  # the pool's shutdown waits for one client at most
    result.sort()
    return result


def _warm_up(ctx: AwsContext, settings: ScanSettings, accounts: list[Account], stop: threading.Event) -> None:
    """The warm-up task: best effort, never a failure of the scan (a client it cannot make is made,
    or reported, by the call that needs it)."""
    try:
        ctx.warm("ec2", warm_up_regions(settings, accounts, ctx.home_region), stop)
    except Exception:  # noqa: BLE001 - see the docstring
        pass


def warm_up_regions(
    settings: ScanSettings, accounts: Iterable[Account], home_region: Callable[[str], str]
) -> list[str]:
    """The regions whose shared EC2 clients the scan makes ahead of their calls, in the order the
    calls come: the home region of an account that needs DescribeRegions first, then the regions
    configured for it, or those every account of its partition has (partitions.ENABLED_BY_DEFAULT).
    A forecast only: a region it misses gets its client at its first call, as before; what is
    scanned comes from the configuration, or from DescribeRegions with the regions every account
    has (regions.describe_enabled_regions)."""
    exclude = set(settings.exclude_regions)
    discovering: dict[str, None] = {}  # partitions whose accounts call DescribeRegions
    rest: dict[str, None] = {}
    for account in accounts:
        if needs_discovery(account.regions, settings.regions):
            discovering.setdefault(account.partition)
            # in the order the calls come: regions.enabled_regions sorts DescribeRegions' answer
            candidates: Iterable[str] = sorted(ENABLED_BY_DEFAULT.get(account.partition, ()))
        else:
            candidates = account.regions or settings.regions
        for region in candidates:
            if region not in exclude:
                rest.setdefault(region)
    first = dict.fromkeys(home_region(partition) for partition in discovering)
    return list(first) + [r for r in rest if r not in first]
