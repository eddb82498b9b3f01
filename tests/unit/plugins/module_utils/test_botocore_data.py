from __future__ import annotations

import botocore.session

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_data


def test_known_regions_match_botocore_itself():
    session = botocore.session.get_session()
    expected = set()
    for partition in session.get_available_partitions():
        expected.update(session.get_available_regions("ec2", partition_name=partition))
    regions = botocore_data.known_regions()
    assert regions == frozenset(expected)
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= regions


def test_known_regions_fall_back_to_botocore_when_its_data_cannot_be_read(monkeypatch):
    monkeypatch.setenv("AWS_DATA_PATH", "/nonexistent")
    assert "us-east-1" in botocore_data.known_regions()


def test_known_attributes_are_the_snake_case_instance_members():
    attributes = botocore_data.known_attributes()
    assert {"instance_id", "instance_type", "private_ip_address", "launch_time", "placement"} <= attributes
    assert {"owner_id", "requester_id", "reservation_id"} <= attributes
    assert "tags" not in attributes


def test_require_botocore_installed_passes_here():
    botocore_data.require_botocore_installed()
