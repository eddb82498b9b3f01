# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which regions to scan in an account: pure selection logic plus the DescribeRegions call."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import ENABLED_BY_DEFAULT, partition_of

ENABLED_OPT_IN = frozenset({"opt-in-not-required", "opted-in"})


def enabled_regions(describe_regions_response: Mapping[str, Any], partition: str) -> list[str]:
    """Regions of ``partition`` that the account may use, from a DescribeRegions answer.

    AWS already omits disabled opt-in regions when AllRegions is false; the checks repeat it
    (and drop other partitions' regions) so a stand-in that lists everything behaves the same.
    """
    out = []
    for region in describe_regions_response.get("Regions", []):
        name = region.get("RegionName")
        if not name or partition_of(name) != partition:
            continue
        if region.get("OptInStatus", "opt-in-not-required") not in ENABLED_OPT_IN:
            continue
        out.append(name)
    return sorted(set(out))


def select_regions(
    available: Sequence[str] | None,
    *,
    account_regions: Iterable[str] | None,
    global_regions: Iterable[str],
    exclude: Iterable[str],
) -> list[str]:
    """The regions to scan: per-account list, else global list, else every enabled region;
    minus ``exclude``. ``available`` is None when no DescribeRegions was needed."""
    exclude = set(exclude)
    if account_regions:
        chosen = list(account_regions)
    elif global_regions:
        chosen = list(global_regions)
    else:
        chosen = list(available or ())
    seen = set()
    out = []
    for region in chosen:
        if region not in exclude and region not in seen:
            seen.add(region)
            out.append(region)
    return out


def needs_discovery(account_regions: Iterable[str] | None, global_regions: Iterable[str]) -> bool:
    return not account_regions and not list(global_regions)


def describe_enabled_regions(client: Any, partition: str) -> list[str]:
    """The enabled regions of the account. Every account has regions: an answer that names none of
    the partition (or names something that is not a region) is not AWS's, and fails the account.
    The regions AWS enables in every account (partitions.ENABLED_BY_DEFAULT) are always in the
    result: an answer that leaves one out cannot make the scan skip it."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.errors import NotAnAwsResponse
    from ansible_collections.crossaccount.aws.plugins.module_utils.responses import region_names

    response = client.describe_regions(
        AllRegions=False,
        Filters=[{"Name": "opt-in-status", "Values": sorted(ENABLED_OPT_IN)}],
    )
    listed = response.get("Regions") if isinstance(response, Mapping) else None
    if not isinstance(listed, list):
        raise NotAnAwsResponse("DescribeRegions", "the answer has no list of regions")
    # a name that is not a region never becomes a client region (an endpoint host name)
    region_names((r.get("RegionName") if isinstance(r, Mapping) else r for r in listed), "DescribeRegions")
    found = enabled_regions(response, partition)
    if not found:
        raise NotAnAwsResponse(
            "DescribeRegions", f"the answer lists no enabled region of partition {partition} ({len(listed)} listed)"
        )
    # the regions every account has are scanned even when the answer leaves them out: an answer
    # that is not AWS's (a proxy, a stand-in) cannot make a scan skip them and still look complete
    return sorted(set(found) | set(ENABLED_BY_DEFAULT.get(partition, ())))
