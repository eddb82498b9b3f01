# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS partitions, listed once: names, region patterns and home regions.

Everything that needs a partition asks this module: the ``partition`` option's choices, the role
ARN pattern, which partition a region belongs to, and where account-level calls (STS,
DescribeRegions, Organizations) go when nothing is configured. Pure data, no botocore import (a
run served from the cache never imports botocore); tests/unit/.../test_partitions.py checks it
against botocore's own endpoint data, so a new partition in botocore fails a test, not a scan.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Partition(NamedTuple):
    name: str
    region_pattern: str  # botocore's endpoints.json regionRegex
    home_region: str  # where STS/DescribeRegions/Organizations calls go by default


# Ordered so that the narrower patterns come first (us-gov-, us-isob- before us-).
_TABLE = (
    Partition("aws-us-gov", r"^us\-gov\-\w+\-\d+$", "us-gov-west-1"),
    Partition("aws-iso-b", r"^us\-isob\-\w+\-\d+$", "us-isob-east-1"),
    Partition("aws-iso-f", r"^us\-isof\-\w+\-\d+$", "us-isof-south-1"),
    Partition("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$", "eu-isoe-west-1"),
    Partition("aws-iso", r"^us\-iso\-\w+\-\d+$", "us-iso-east-1"),
    Partition("aws-eusc", r"^eusc\-(de)\-\w+\-\d+$", "eusc-de-east-1"),
    Partition("aws-cn", r"^cn\-\w+\-\d+$", "cn-north-1"),
    Partition("aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", "us-east-1"),
)
_BY_NAME = {p.name: p for p in _TABLE}
_PATTERNS = tuple((p.name, re.compile(p.region_pattern)) for p in _TABLE)

# The regions every account of a partition has: AWS enables the regions introduced before
# 20 March 2019 in every account, and they cannot be disabled; later ones need an opt-in.
# An account without configured regions scans these whatever DescribeRegions answers, with the
# opted-in regions the answer adds (regions.describe_enabled_regions: an answer that leaves one out
# is not AWS's, and cannot make the scan skip it); scanner.warm_up_regions forecasts its clients.
ENABLED_BY_DEFAULT = {
    "aws": (
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "sa-east-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    ),
    "aws-cn": ("cn-north-1", "cn-northwest-1"),
    "aws-us-gov": ("us-gov-west-1", "us-gov-east-1"),
}

# The partition names, commercial first: the ``partition`` option's choices.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
DEFAULT_PARTITION = "aws"

# An IAM role ARN in any partition: groups (partition, account id, role path and name).
ROLE_ARN_PATTERN = (
    r"^arn:(" + "|".join(re.escape(p) for p in PARTITIONS) + r"):iam::(\d{12}):role/([\w+=,.@/-]{1,512})$"
)


def partition_of(region: str) -> str | None:
    """The partition a region name belongs to, or None when it matches no partition."""
    for name, pattern in _PATTERNS:
        if pattern.match(region or ""):
            return name
    return None


def home_region(partition: str) -> str:
    """The partition's default region for account-level calls (STS, DescribeRegions)."""
    entry = _BY_NAME.get(partition)
    return entry.home_region if entry else _BY_NAME[DEFAULT_PARTITION].home_region


def table() -> tuple[Partition, ...]:
    return _TABLE
