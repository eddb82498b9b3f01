"""Unit tests for plugins/module_utils/partitions.py: the one list of partitions agrees with
botocore's endpoint data and with the ``partition`` option's documented choices."""

from __future__ import annotations

import json
import os
import re

import botocore
import botocore.session
import pytest
import yaml

from ansible_collections.crossaccount.aws.plugins.inventory import ec2
from ansible_collections.crossaccount.aws.plugins.module_utils import partitions
from ansible_collections.crossaccount.aws.plugins.module_utils.config import ROLE_ARN_RE


def _endpoints() -> dict:
    with open(os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")) as fh:
        return json.load(fh)


@pytest.mark.parametrize(
    "region, partition",
    [
        ("us-east-1", "aws"),
        ("eu-central-2", "aws"),
        ("il-central-1", "aws"),
        ("mx-central-1", "aws"),
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-northwest-1", "aws-cn"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("eusc-de-east-1", "aws-eusc"),
        ("mars-north-1", None),
        ("", None),
    ],
)
def test_partition_of(region, partition):
    assert partitions.partition_of(region) == partition


def test_the_table_is_botocores_partitions():
    data = {p["partition"]: p for p in _endpoints()["partitions"]}
    assert set(partitions.PARTITIONS) == set(data), "botocore knows another set of partitions: update partitions.py"
    for entry in partitions.table():
        assert entry.region_pattern == data[entry.name]["regionRegex"], entry.name
        assert entry.home_region in data[entry.name]["regions"], entry.name
        assert partitions.partition_of(entry.home_region) == entry.name


def test_partition_of_agrees_with_botocore_for_every_known_ec2_region():
    session = botocore.session.get_session()
    for partition in session.get_available_partitions():
        for region in session.get_available_regions("ec2", partition_name=partition):
            assert partitions.partition_of(region) == partition, region


def test_option_choices_and_role_arns_use_the_same_list():
    options = yaml.safe_load(ec2.DOCUMENTATION)["options"]
    assert options["partition"]["choices"] == list(partitions.PARTITIONS)
    assert options["partition"]["default"] == partitions.DEFAULT_PARTITION
    for name in partitions.PARTITIONS:
        assert ROLE_ARN_RE.match(f"arn:{name}:iam::123456789012:role/Reader")
    assert not ROLE_ARN_RE.match("arn:aws-mars:iam::123456789012:role/Reader")


def test_no_other_module_lists_partitions():
    root = os.path.dirname(partitions.__file__)
    for name in os.listdir(root):
        if name.endswith(".py") and name != "partitions.py":
            with open(os.path.join(root, name)) as fh:
                text = fh.read()
            assert not re.search(r"aws-iso-b|us-isob|cn-north-1", text), f"{name} lists partitions itself"


def test_the_regions_enabled_by_default_are_regions_of_their_partition_in_botocore():
    # a forecast of which clients a scan makes (scanner.warm_up_regions); a typo would only cost
    # CPU, so it fails here instead
    session = botocore.session.get_session()
    for partition, regions in partitions.ENABLED_BY_DEFAULT.items():
        assert len(set(regions)) == len(regions)
        known = set(session.get_available_regions("ec2", partition_name=partition))
        assert set(regions) <= known, (partition, set(regions) - known)
        assert {partitions.partition_of(r) for r in regions} == {partition}
    assert len(partitions.ENABLED_BY_DEFAULT["aws"]) == 17
