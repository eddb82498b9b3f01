# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What botocore knows, read without importing botocore's client stack.

Configuration checks need the list of EC2 regions and of instance attribute names. Both are read
from botocore's own data files (``endpoints.json``, the EC2 service model), so that a run served
from the inventory cache never pays for importing botocore (~0.2 s); botocore itself is the
fallback when its data cannot be read that way (``AWS_DATA_PATH``, another layout).
"""

from __future__ import annotations

from typing import Any


def require_botocore_installed() -> None:
    """Fail with one clear line when botocore is missing, without importing it: a run served from
    the cache never imports botocore's client stack (~0.2 s)."""
    import importlib.util

    if importlib.util.find_spec("botocore") is None:
        from ansible_collections.crossaccount.aws.plugins.module_utils.clients import require_botocore

        require_botocore()


def _data_file(*parts: str) -> Any:
    """A JSON file of botocore's own data directory (.json or .json.gz), read without importing
    botocore; None when it cannot be read that way (the callers then ask botocore itself)."""
    import gzip
    import importlib.util
    import json
    import os

    if os.environ.get("AWS_DATA_PATH"):  # extra model directories: let botocore resolve them
        return None
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "data", *parts)
    try:
        if os.path.exists(path):
            with open(path, "rb") as fh:
                return json.load(fh)
        with gzip.open(path + ".gz", "rb") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _data_dirs(service: str) -> list[str]:
    """The API versions botocore ships for ``service`` (directory names), without importing it."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.origin or os.environ.get("AWS_DATA_PATH"):
        return []
    try:
        return os.listdir(os.path.join(os.path.dirname(spec.origin), "data", service))
    except OSError:
        return []


def known_regions() -> frozenset[str]:
    """Every EC2 region of every partition, as botocore's endpoint data lists them."""
    data = _data_file("endpoints.json")
    try:
        regions = {
            name
            for partition in data["partitions"]
            for name in partition["services"]["ec2"]["endpoints"]
            if name in partition["regions"]
        }
        if regions:
            return frozenset(regions)
    except (KeyError, TypeError):
        pass
    import botocore.session

    session = botocore.session.get_session()
    regions = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def known_attributes() -> frozenset[str]:
    """Snake_case names of every DescribeInstances instance attribute (plus the reservation's)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.values import snake

    members = None
    try:
        versions = sorted(_data_dirs("ec2"))
        model = _data_file("ec2", versions[-1], "service-2.json") if versions else None
        members = list(model["shapes"]["Instance"]["members"])
    except (KeyError, TypeError):
        members = None
    if not members:
        import botocore.session

        members = list(botocore.session.get_session().get_service_model("ec2").shape_for("Instance").members)
    names = {snake(m) for m in members if m != "Tags"}
    names.update({"owner_id", "requester_id", "reservation_id"})
    return frozenset(names)
