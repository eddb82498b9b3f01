"""Unit tests for plugins/module_utils/regions.py: which regions of an account are scanned."""

from __future__ import annotations

from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import ENABLED_BY_DEFAULT
from ansible_collections.crossaccount.aws.plugins.module_utils.regions import (
    ENABLED_OPT_IN,
    describe_enabled_regions,
    enabled_regions,
    needs_discovery,
    select_regions,
)

RESPONSE = {
    "Regions": [
        {"RegionName": "us-west-2", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "af-south-1", "OptInStatus": "opted-in"},
        {"RegionName": "ap-east-1", "OptInStatus": "not-opted-in"},
        {"RegionName": "us-gov-west-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "cn-north-1"},
        {"RegionName": "eu-west-1"},
        {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
        {"OptInStatus": "opted-in"},
    ]
}


def test_enabled_regions_keep_the_partition_and_opted_in_only():
    assert enabled_regions(RESPONSE, "aws") == ["af-south-1", "eu-west-1", "us-east-1", "us-west-2"]
    assert enabled_regions(RESPONSE, "aws-us-gov") == ["us-gov-west-1"]
    assert enabled_regions(RESPONSE, "aws-cn") == ["cn-north-1"]
    assert enabled_regions({}, "aws") == []


def test_select_regions_precedence_and_exclusion():
    available = ["eu-west-1", "us-east-1", "us-west-2"]
    assert select_regions(available, account_regions=None, global_regions=(), exclude=()) == available
    assert select_regions(available, account_regions=None, global_regions=("us-east-1",), exclude=()) == ["us-east-1"]
    assert select_regions(
        available, account_regions=("ap-south-1", "ap-south-1", "eu-west-1"), global_regions=("us-east-1",), exclude=()
    ) == ["ap-south-1", "eu-west-1"], "the account's own list wins, duplicates dropped, order kept"
    assert select_regions(available, account_regions=None, global_regions=(), exclude=("us-east-1",)) == [
        "eu-west-1",
        "us-west-2",
    ]
    assert select_regions(None, account_regions=None, global_regions=(), exclude=()) == []


def test_needs_discovery_only_without_any_region_list():
    assert needs_discovery(None, ())
    assert needs_discovery((), [])
    assert not needs_discovery(("us-east-1",), ())
    assert not needs_discovery(None, ("us-east-1",))


class _Client:
    def __init__(self):
        self.kwargs = None

    def describe_regions(self, **kwargs):
        self.kwargs = kwargs
        return RESPONSE


def test_describe_enabled_regions_asks_for_enabled_regions_only():
    client = _Client()
    # what the answer lists (af-south-1 opted in), and the regions every account has that it left out
    assert describe_enabled_regions(client, "aws") == sorted({"af-south-1", *ENABLED_BY_DEFAULT["aws"]})
    assert describe_enabled_regions(client, "aws-us-gov") == ["us-gov-east-1", "us-gov-west-1"]
    assert describe_enabled_regions(client, "aws-cn") == ["cn-north-1", "cn-northwest-1"]
    assert client.kwargs["AllRegions"] is False
    assert client.kwargs["Filters"] == [{"Name": "opt-in-status", "Values": sorted(ENABLED_OPT_IN)}]
