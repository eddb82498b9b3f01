"""Unit tests for plugins/module_utils/hosts.py: host records, hostnames and groups (pure logic)."""

from __future__ import annotations

import botocore.session
from ansible.module_utils.common.dict_transformations import _camel_to_snake

from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import (
    ALWAYS_KEPT,
    default_groups,
    instance_record,
    safe_group_name,
    snake,
    snake_value,
    tags_to_dict,
)

INSTANCE = {
    "InstanceId": "i-0abc",
    "InstanceType": "t3.micro",
    "PrivateIpAddress": "10.0.0.5",
    "PublicIpAddress": "54.1.2.3",
    "PublicDnsName": "ec2-54-1-2-3.compute-1.amazonaws.com",
    "PrivateDnsName": "ip-10-0-0-5.ec2.internal",
    "State": {"Code": 16, "Name": "running"},
    "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"},
    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-1", "DeleteOnTermination": True}}],
    "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "Environment", "Value": "prod"}, {"Key": "Empty"}],
}
RESERVATION = {"OwnerId": "111111111111", "RequesterId": "222222222222", "ReservationId": "r-1"}


def _record(**kw):
    args = dict(reservation=RESERVATION, account_id="111111111111", account_name="payer", region="us-east-1")
    args.update(kw)
    return instance_record(INSTANCE, **args)


def test_snake_matches_ansible_core_for_every_instance_attribute():
    """Variable names must be those of amazon.aws.aws_ec2 (ansible-core's camel_dict_to_snake_dict)."""
    shape = botocore.session.get_session().get_service_model("ec2").shape_for("Instance")
    names = set(shape.members) | {"IPv6Address", "ARN", "CPUOptions", "NetworkInterfaceIds", "OwnerId"}
    assert {n: snake(n) for n in names} == {n: _camel_to_snake(n) for n in names}
    assert snake("InstanceId") == "instance_id"


def test_snake_value_converts_nested_keys_but_not_values():
    value = {"State": {"Name": "Running"}, "Items": [{"GroupId": "sg-1", "GroupName": "MyGroup"}]}
    assert snake_value(value) == {
        "state": {"name": "Running"},
        "items": [{"group_id": "sg-1", "group_name": "MyGroup"}],
    }
    assert snake_value("CamelValue") == "CamelValue"


def test_tags_to_dict():
    assert tags_to_dict(INSTANCE["Tags"]) == {"Name": "web-1", "Environment": "prod", "Empty": ""}
    assert tags_to_dict(None) == {}
    assert tags_to_dict([{"Value": "no key"}]) == {}


def test_instance_record_all_attributes():
    rec = _record()
    assert rec["instance_id"] == "i-0abc"
    assert rec["instance_type"] == "t3.micro"
    assert rec["state"] == {"code": 16, "name": "running"}
    assert rec["placement"]["availability_zone"] == "us-east-1a"
    assert rec["block_device_mappings"][0]["ebs"]["delete_on_termination"] is True
    assert rec["ec2_tags"] == {"Name": "web-1", "Environment": "prod", "Empty": ""}
    assert "tags" not in rec
    assert (rec["account_id"], rec["account_name"], rec["region"]) == ("111111111111", "payer", "us-east-1")
    assert rec["ansible_host"] == "10.0.0.5", "the private address wins"
    assert (rec["owner_id"], rec["requester_id"], rec["reservation_id"]) == ("111111111111", "222222222222", "r-1")


def test_instance_record_lean_attributes_keeps_the_always_kept():
    rec = _record(attributes=["instance_type", "owner_id"])
    assert set(rec) == {"instance_type", "owner_id"} | set(ALWAYS_KEPT)
    rec = _record(attributes=[], account_name=None, reservation=None)
    assert set(rec) == set(ALWAYS_KEPT) - {"account_name"}


def test_ansible_host_falls_back_to_public_ip_then_absent():
    public_only = {k: v for k, v in INSTANCE.items() if k != "PrivateIpAddress"}
    rec = instance_record(public_only, reservation=None, account_id="1" * 12, account_name=None, region="eu-west-1")
    assert rec["ansible_host"] == "54.1.2.3"
    bare = {"InstanceId": "i-1"}
    rec = instance_record(bare, reservation=None, account_id="1" * 12, account_name=None, region="eu-west-1")
    assert "ansible_host" not in rec and rec["ec2_tags"] == {}


def _rec(account, region, iid, name=None):
    return {"account_id": account, "region": region, "instance_id": iid, "ec2_tags": {"Name": name} if name else {}}


def test_groups_are_safe_names():
    assert safe_group_name("ap-southeast-2") == "ap_southeast_2"
    assert safe_group_name("web server.prod/1{{x}}") == "web_server_prod_1__x__"
    assert default_groups(_rec("111111111111", "ap-southeast-2", "i-1", "db-1 (old)")) == [
        "account_111111111111",
        "region_ap_southeast_2",
        "name_db_1__old_",
    ]
    assert default_groups(_rec("111111111111", "us-east-1", "i-1")) == ["account_111111111111", "region_us_east_1"]


def test_default_groups_of_the_kinds_asked_in_a_fixed_order():
    rec = _rec("111111111111", "eu-west-1", "i-1", "web")
    assert default_groups(rec) == ["account_111111111111", "region_eu_west_1", "name_web"]
    assert default_groups(rec, ("account", "region")) == ["account_111111111111", "region_eu_west_1"]
    assert default_groups(rec, ("name", "account")) == ["account_111111111111", "name_web"]
    assert default_groups(rec, ("region",)) == ["region_eu_west_1"]
    assert default_groups(rec, ()) == []
    assert default_groups(_rec("111111111111", "eu-west-1", "i-1"), ("name",)) == [], "no Name tag, no name_ group"
