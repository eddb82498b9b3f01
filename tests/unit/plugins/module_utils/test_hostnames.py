"""Unit tests for plugins/module_utils/hostnames.py: aws_ec2's hostnames grammar (checked against
amazon.aws.aws_ec2's own functions), and the safe, stable choice of names."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import hostnames as hn
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import instance_record, snake

IID = "i-0123456789abcdef0"
OTHER = "i-0fedcba9876543210"

INSTANCE = {
    "InstanceId": IID,
    "ImageId": "ami-12345678",
    "InstanceType": "t3.micro",
    "KeyName": "ops",
    "LaunchTime": dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc),
    "AmiLaunchIndex": 0,
    "Architecture": "x86_64",
    "Hypervisor": "xen",
    "Platform": "windows",
    "PrivateIpAddress": "10.0.0.5",
    "PublicIpAddress": "54.1.2.3",
    "PublicDnsName": "ec2-54-1-2-3.compute-1.amazonaws.com",
    "PrivateDnsName": "ip-10-0-0-5.ec2.internal",
    "State": {"Code": 16, "Name": "running"},
    "Monitoring": {"State": "disabled"},
    "Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default", "GroupName": ""},
    "SubnetId": "subnet-1",
    "VpcId": "vpc-1",
    "SourceDestCheck": True,
    "RootDeviceName": "/dev/xvda",
    "RootDeviceType": "ebs",
    "VirtualizationType": "hvm",
    "IamInstanceProfile": {"Arn": "arn:aws:iam::111111111111:instance-profile/x", "Id": "AIPA"},
    "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}],
    "ProductCodes": [],
    "BlockDeviceMappings": [
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-1", "DeleteOnTermination": True, "Status": "attached"}},
        {"DeviceName": "/dev/xvdb", "Ebs": {"VolumeId": "vol-2", "DeleteOnTermination": False, "Status": "attached"}},
    ],
    "NetworkInterfaces": [
        {
            "NetworkInterfaceId": "eni-1",
            "MacAddress": "0a:00:00:00:00:01",
            "OwnerId": "111111111111",
            "PrivateDnsName": "ip-10-0-0-5.ec2.internal",
            "PrivateIpAddress": "10.0.0.5",
            "SourceDestCheck": True,
            "Status": "in-use",
            "SubnetId": "subnet-1",
            "VpcId": "vpc-1",
            "Description": "",
            "Attachment": {"AttachmentId": "eni-attach-1", "DeviceIndex": 0, "Status": "attached"},
            "Association": {"PublicIp": "54.1.2.3", "IpOwnerId": "amazon"},
            "Groups": [{"GroupId": "sg-1", "GroupName": "default"}],
            "Ipv6Addresses": [{"Ipv6Address": "2001:db8::5"}],
            "PrivateIpAddresses": [
                {"Primary": True, "PrivateIpAddress": "10.0.0.5", "Association": {"PublicIp": "54.1.2.3"}},
                {"Primary": False, "PrivateIpAddress": "10.0.0.6", "Association": {"PublicIp": "54.1.2.4"}},
            ],
        },
        {
            "NetworkInterfaceId": "eni-2",
            "PrivateIpAddress": "10.0.1.7",
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.7"}],
            "Groups": [],
            "Ipv6Addresses": [],
        },
    ],
    "Tags": [
        {"Key": "Name", "Value": "web-1"},
        {"Key": "Environment", "Value": "prod"},
        {"Key": "Role", "Value": "frontend"},
        {"Key": "Empty", "Value": ""},
    ],
}
RESERVATION = {"OwnerId": "111111111111", "RequesterId": "222222222222", "ReservationId": "r-1"}
BARE = {"InstanceId": OTHER, "State": {"Code": 16, "Name": "running"}, "Placement": {"AvailabilityZone": "eu-west-1b"}}


def _aws_ec2():
    """amazon.aws.aws_ec2's InventoryModule (make collection-link places amazon.aws 10.x), with
    Route53 off: its own _get_preferred_hostname is the reference."""
    aws_ec2 = pytest.importorskip("ansible_collections.amazon.aws.plugins.inventory.aws_ec2")

    class Reference(aws_ec2.InventoryModule):
        route53_enabled = False

    return aws_ec2, Reference()


def _with_reservation(instance):
    merged = dict(instance)
    merged.update(RESERVATION)  # aws_ec2 copies the reservation's OwnerId/RequesterId/ReservationId in
    return merged


def _ours(instance, preference):
    record = instance_record(
        instance, reservation=RESERVATION, account_id="111111111111", account_name=None, region="r"
    )
    return hn.preference_value(record, hn.parse_hostnames([preference])[0])


def test_the_filter_names_are_aws_ec2s():
    aws_ec2, _ = _aws_ec2()
    theirs = set(aws_ec2.instance_data_filter_to_boto_attr) | set(aws_ec2.instance_meta_filter_to_boto_attr)
    assert set(hn.ATTRIBUTE_SOURCES) == theirs - {"tag", "tag-key", "tag-value"}
    for name, path in hn._CAMEL_PATHS.items():
        expected = (
            aws_ec2.instance_data_filter_to_boto_attr.get(name) or aws_ec2.instance_meta_filter_to_boto_attr[name]
        )
        assert path == expected
        assert hn.ATTRIBUTE_SOURCES[name] == tuple(snake(p) for p in path), "the short snake() agrees with hosts.snake"


PREFERENCES = [
    *sorted(hn.ATTRIBUTE_SOURCES),
    "tag:Name",
    "tag:Environment=prod",
    "tag:Environment=dev",
    "tag:Missing,Role",
    "tag:Environment=dev,Role=frontend,Name",
    "tag:Empty",
    "tag:Missing",
    "tag:Name,Role",
    {"name": "private-ip-address", "prefix": "tag:Name"},
    {"name": "instance-id", "prefix": "tag:Environment", "separator": "-"},
    {"name": "test_literal", "prefix": "aws", "separator": "-"},
    {"name": "tag:Missing", "prefix": "aws"},
    {"name": "dns-name", "prefix": "tag:Missing"},
    {"name": "tag:Name=web-1", "prefix": "", "separator": ""},
    {"name": "private-dns-name", "separator": "+"},
]


@pytest.mark.parametrize("instance", [INSTANCE, BARE], ids=["rich", "bare"])
@pytest.mark.parametrize("preference", PREFERENCES, ids=str)
def test_same_name_as_aws_ec2(instance, preference):
    _, reference = _aws_ec2()
    theirs = reference._get_preferred_hostname(_with_reservation(instance), [preference])
    assert _ours(instance, preference) == (str(theirs) if theirs else None)


@pytest.mark.parametrize(
    "value, key, fix",
    [
        (["tag:Nmae | lower"], "hostnames[0]", "compose"),
        (["{{ tag }}"], "hostnames[0]", "compose"),
        (["tag:Name{# x #}"], "hostnames[0]", "compose"),
        ([{"name": "web{% if x %}", "prefix": "tag:Role"}], "hostnames[0].name", "compose"),
        (["instance-id", "dns_name"], "hostnames[1]", "did you mean 'dns-name'"),
        (["web"], "hostnames[0]", "literal name only in the dict form"),
        (["tag-key"], "hostnames[0]", "tag:KEY"),
        (["tag:"], "hostnames[0]", "no empty items"),
        (["tag:Name,"], "hostnames[0]", "no empty items"),
        (["tag:=web"], "hostnames[0]", "no empty items"),
        ([{"prefix": "tag:Name"}], "hostnames[0]", "name: private-ip-address"),
        ([{"name": "dns-name", "suffix": "x"}], "hostnames[0].suffix", "name, prefix and separator"),
        ([{"name": "private_ip_address"}], "hostnames[0].name", "did you mean 'private-ip-address'"),
        ([{"name": "dns-name", "separator": 1}], "hostnames[0].separator", "quote it"),
        ([{"name": ["dns-name"]}], "hostnames[0].name", "hostnames: [tag:Name"),
        ([5], "hostnames[0]", "hostnames: [tag:Name"),
        (7, "hostnames", "hostnames: [tag:Name"),
    ],
)
def test_refused_at_config_time_in_one_line(value, key, fix):
    with pytest.raises(ConfigError) as info:
        hn.parse_hostnames(value)
    assert info.value.key == key, str(info.value)
    assert fix in info.value.fix, str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_an_empty_list_is_the_default():
    """aws_ec2 reads hostnames: [] as its default list; here it is the instance id."""
    assert hn.parse_hostnames([]) == hn.DEFAULT == hn.parse_hostnames(None)


def test_parsed_forms():
    prefs = hn.parse_hostnames(["tag:K1=V1,K2", {"name": "ip-address", "prefix": "aws"}, "instance-id"])
    assert prefs[0].name.tags == (("K1", "V1"), ("K2", None)) and prefs[0].from_tags
    assert prefs[1].prefix.kind == "literal" and not prefs[1].from_tags
    assert prefs[2].is_instance_id
    assert hn.parse_hostnames({"name": "dns-name"})[0].written == "dns-name"
    assert hn.parse_hostnames(["tag:a=b=c"])[0].name.tags == (("a", "b=c"),)


def test_attributes_read_keeps_what_sources_read():
    prefs = hn.parse_hostnames(
        ["tag:Name", {"name": "network-interface.addresses.association.public-ip", "prefix": "availability-zone"}]
    )
    assert hn.attributes_read(prefs) == ("network_interfaces", "placement", "launch_time")
    assert hn.attributes_read(hn.DEFAULT) == ()  # the instance id is always kept
    assert hn.attributes_read(hn.parse_hostnames(["owner-id"])) == ("owner_id", "launch_time", "network_interfaces")


@pytest.mark.parametrize(
    "value",
    [
        "",
        " web",
        "web server",
        "web\n",
        "web\x00",
        "a:b",
        "a,b",
        "a&b",
        "!a",
        "web[1:2]",
        "~web",
        "@file",
        "we*b",
        "web?",
        "-web",
        ".web",
        "x" * 256,
        "wéb",
        "localhost",
        "LOCALHOST",
        "localhost.localdomain",
        "localhost6",
        "ip6-localhost",
        "ip6-localhost.",
        "IP6-LOOPBACK.",
        "web.localhost",
        "web.LocalHost.",
        "127.0.0.1",
        "127.0.0.2",
        "::1",
        "0.0.0.0",
        # inet_aton's short forms, which resolvers (ssh, getaddrinfo) read as addresses
        "127.1",
        "127.0.1",
        "0",
        "2130706433",
        "0x7f000001",
        "0X7F.1",
        "017700000001",
        "127.0.0.1.",
        "10.1",
        "42",
        "3232235777",
        "2001:DB8::1",
        "all",
        "ungrouped",
        OTHER,
        f"web_{OTHER}",
        OTHER.upper(),
        # starts like a default group, made or not, of any account (with instances or none), and
        # what a glob on them would reach (--limit 'region_us_*', 'account_1*')
        "account_333333333333",
        "account_12345",
        "account_111111111111-x",
        "region_eu_west_1",
        "region_us_gov_west_1",
        "region_us_evil-1",
        "region_db",
        "name_web",
        "name_x",
        "name_",
    ],
)
def test_unsafe_names(value):
    assert hn.unsafe_reason(value, IID) is not None


@pytest.mark.parametrize(
    ("value", "address"),
    [("127.1", "127.0.0.1"), ("0", "0.0.0.0"), ("0x7f000001", "127.0.0.1"), ("10.1", "10.0.0.1"), ("42", "0.0.0.42")],
)
def test_a_short_form_of_an_address_is_refused_saying_what_it_reads_as(value, address):
    reason = hn.unsafe_reason(value, IID)
    assert address in reason
    read = ipaddress.ip_address(address)
    assert ("controller" in reason) == (read.is_loopback or read.is_unspecified)


@pytest.mark.parametrize(
    "value",
    [
        "web-1",
        "web_01.prod",
        "10.0.0.5",
        "2001:db8::1",
        IID,
        f"web_{IID}",
        "hi-deadbeef00",
        "_x",
        "Name_web",  # groups are name_<...>, case counts in Ansible names and patterns
        "Region_x",
        "accounts_x",
        "region-eu-west-1",
        "name",
        "my_account_333333333333",
        # look numeric, but no resolver reads an address from them (looked up as names)
        "2024.1",
        "09",
        "0x",
        "1.2.3.4.5",
        "1e5",
    ],
)
def test_safe_names(value):
    assert hn.unsafe_reason(value, IID) is None


def _rec(iid, name=None, account="111111111111", launch="2024-01-01 00:00:00+00:00", **extra):
    record = {"instance_id": iid, "account_id": account, "region": "us-east-1", "launch_time": launch}
    record["ec2_tags"] = {"Name": name} if name is not None else {}
    record.update(extra)
    return record


NAME_THEN_ID = hn.parse_hostnames(["tag:Name", "instance-id"])


def test_the_longest_running_keeps_a_name_whatever_the_order():
    old = _rec("i-00000000000000009", "web", account="999999999999", launch="2024-01-01 00:00:00+00:00")
    new = _rec("i-00000000000000001", "web", account="111111111111", launch="2024-06-01T00:00:00Z")
    newest = _rec("i-00000000000000000", "web", account="000000000000", launch=dt.datetime(2025, 1, 1))
    for records in ([old, new, newest], [newest, new, old]):
        naming = hn.choose_hostnames(records, NAME_THEN_ID)
        got = dict(zip((r["instance_id"] for r in records), naming.names, strict=True))
        assert got == {
            old["instance_id"]: "web",
            new["instance_id"]: "web_i-00000000000000001",
            newest["instance_id"]: "web_i-00000000000000000",
        }
        assert naming.collisions == {"web": ["i-00000000000000000", "i-00000000000000001"]}
        assert naming.refusals == []


def test_same_launch_time_then_instance_id_and_unknown_launch_time_last():
    a = _rec("i-0000000000000000a", "web", launch=None)
    b = _rec("i-0000000000000000b", "web")
    c = _rec("i-0000000000000000c", "web")
    assert hn.choose_hostnames([a, c, b], NAME_THEN_ID).names == [
        "web_i-0000000000000000a",
        "web_i-0000000000000000c",
        "web",
    ]


def _interface(device_index, attach_time):
    return {"attachment": {"device_index": device_index, "attach_time": attach_time}}


def test_a_stopped_and_started_instance_keeps_its_name():
    """AWS resets launch_time when a stopped instance starts; the primary network interface keeps
    the attach time of the first launch. A restart never hands the name to a later instance."""
    restarted = _rec(
        "i-0000000000000000b",
        "web",
        launch="2025-03-01T00:00:00.000Z",
        network_interfaces=[_interface(1, "2025-02-15T00:00:00.000Z"), _interface(0, "2024-01-01T00:00:00.000Z")],
    )
    later = _rec("i-0000000000000000a", "web", launch="2024-06-01T00:00:00.000Z")
    assert hn.choose_hostnames([later, restarted], NAME_THEN_ID).names == ["web_i-0000000000000000a", "web"]
    assert hn.first_launch(restarted) == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    # a secondary interface attached later, or none at all: launch_time
    assert hn.first_launch(later) == dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    assert hn.first_launch(dict(later, network_interfaces=[_interface(1, "2023-01-01T00:00:00Z")])) == hn.first_launch(
        later
    )


@pytest.mark.parametrize(
    "tag, groups, hosts",
    [
        ("account_333333333333", {"account_333333333333"}, ()),
        ("region_eu_west_1", {"region_eu_west_1"}, ()),
        ("name_db", {"name_db"}, ()),
        ("env_prod", {"env_prod"}, ()),
        ("all", (), ()),
        ("ungrouped", (), ()),
        ("localhost", (), ()),
        ("127.0.0.1", (), ()),
        (OTHER, (), ()),
        ("bastion", (), {"bastion"}),
        ("10.9.9.9", (), ()),
        ("web;rm", (), ()),
    ],
)
def test_a_tag_never_impersonates(tag, groups, hosts):
    naming = hn.choose_hostnames([_rec(IID, tag)], NAME_THEN_ID, groups=groups, hosts=hosts)
    assert naming.names == [IID]
    (refusal,) = naming.refusals
    assert (refusal.instance_id, refusal.account_id, refusal.value) == (IID, "111111111111", tag)
    assert IID in refusal.line() and "111111111111" in refusal.line() and repr(tag) in refusal.line()


def test_a_tag_never_takes_a_name_aws_gives_another_instance():
    prefs = hn.parse_hostnames(["tag:Name", "private-dns-name"])
    honest = _rec(OTHER, None, launch="2025-01-01 00:00:00+00:00", private_dns_name="ip-10-0-0-5.ec2.internal")
    attacker = _rec(IID, "ip-10-0-0-5.ec2.internal", launch="2020-01-01 00:00:00+00:00")
    naming = hn.choose_hostnames([attacker, honest], prefs)
    assert naming.names == [IID, "ip-10-0-0-5.ec2.internal"]
    assert [r.instance_id for r in naming.refusals] == [IID]


def test_a_host_of_another_source_is_kept_unless_it_is_this_instance():
    rec = _rec(IID, "web")
    assert hn.choose_hostnames([rec], NAME_THEN_ID, hosts={"web"}).names == [IID]
    same = hn.choose_hostnames([rec], NAME_THEN_ID, hosts={"web"}, same_instance=lambda name, r: True)
    assert same.names == ["web"] and same.refusals == []


def test_the_instance_id_itself_taken_by_a_group():
    naming = hn.choose_hostnames([_rec(IID, "web")], NAME_THEN_ID, groups={"web", IID})
    assert naming.names == [f"{IID}_111111111111"]
    assert naming.refusals[0].name == f"{IID}_111111111111"


def test_a_suffixed_name_never_becomes_a_group():
    old, new = _rec("i-0000000000000000a", "web"), _rec("i-0000000000000000b", "web", launch="2025-01-01")
    naming = hn.choose_hostnames([old, new], NAME_THEN_ID, groups={"web_i-0000000000000000b"})
    assert naming.names == ["web", "i-0000000000000000b"]


def test_unmatched_sources_are_reported_once_each():
    prefs = hn.parse_hostnames(["tag:Nmae", "tag:Name", "dns-name", "instance-id"])
    naming = hn.choose_hostnames([_rec(IID, "web"), _rec(OTHER)], prefs)
    assert naming.unmatched == [(0, "tag:Nmae"), (2, "dns-name")]
    assert hn.choose_hostnames([], prefs).unmatched == []


def test_a_prefix_source_matching_no_instance_is_reported():
    """The dict form names an instance lacking the prefix by the bare name (aws_ec2's rule), so a
    misspelt prefix matched every entry and went unnoticed."""
    prefs = hn.parse_hostnames(
        [
            {"name": "instance-id", "prefix": "tag:Enviroment"},
            {"name": "instance-id", "prefix": "tag:Name"},
            {"name": "instance-id", "prefix": "aws"},
        ]
    )
    naming = hn.choose_hostnames([_rec(IID, "web"), _rec(OTHER)], prefs)
    assert naming.names == [IID, OTHER]
    assert naming.unmatched == [] and naming.unmatched_prefixes == [(0, "tag:Enviroment")]
    assert hn.choose_hostnames([], prefs).unmatched_prefixes == []


def test_a_tag_list_item_matching_no_instance_is_reported():
    """tag:K1=V1,K2: an item no instance matches, while others name the hosts, is reported by
    itself; a list none of whose items matches is the whole entry's report."""
    prefs = hn.parse_hostnames(
        [
            "tag:Enviroment=prod,Name",
            "tag:Nmae,Rloe",
            {"name": "instance-id", "prefix": "tag:Name=web,Name=db"},
        ]
    )
    naming = hn.choose_hostnames([_rec(IID, "web"), _rec(OTHER)], prefs)
    assert naming.names == ["web", OTHER]
    assert naming.unmatched_tag_items == [
        ("hostnames[0]", "tag:Enviroment=prod,Name", "Enviroment=prod"),
        ("hostnames[2].prefix", "tag:Name=web,Name=db", "Name=db"),
    ]
    assert naming.unmatched == [(1, "tag:Nmae,Rloe")]
    assert hn.choose_hostnames([], prefs).unmatched_tag_items == []


def test_names_are_unique_and_safe_for_a_hostile_fleet():
    tags = ["web", "web", "all", "localhost", "name_web", OTHER, "", None, "web_" + IID, "db", "x y", "i-zz"]
    records = [_rec(f"i-{i:017x}", tag, launch=f"2024-01-{i + 1:02d}") for i, tag in enumerate(tags)]
    naming = hn.choose_hostnames(records, NAME_THEN_ID, groups={"name_web", "name_db"})
    assert len(set(naming.names)) == len(records)
    for name, record in zip(naming.names, records, strict=True):
        assert hn.unsafe_reason(name, record["instance_id"]) is None
        assert name not in {"name_web", "name_db", "all", "ungrouped"}


def test_every_name_ansible_core_treats_as_the_controller_is_refused():
    from ansible import constants as C

    for name in C.LOCALHOST:
        assert hn.unsafe_reason(name, IID) is not None, name
        assert hn.unsafe_group_reason(name) is not None, name


@pytest.mark.parametrize("name", ["127.1", "0", "2130706433", "0x7f000001", "127.0.0.1."])
def test_a_group_named_by_a_short_form_of_loopback_is_refused(name):
    assert "controller" in hn.unsafe_group_reason(name)


@pytest.mark.parametrize("name", ["10.1", "42", "web", "2024.1"])
def test_other_numeric_group_names_stay_allowed(name):
    assert hn.unsafe_group_reason(name) is None


def test_every_default_group_name_is_refused_as_a_hostname():
    """Tied to what hosts.default_groups makes: the home region of every partition, and Names with
    characters the sanitiser replaces."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import default_groups
    from ansible_collections.crossaccount.aws.plugins.module_utils.partitions import PARTITIONS, home_region

    regions = {home_region(p) for p in PARTITIONS} | {"us-gov-west-1", "eu-isoe-west-1", "us-isob-east-1"}
    for region in sorted(regions):
        for name in ("web", "wëb", "a-b.c d", "x" * 300, "_"):
            record = {"account_id": "123456789012", "region": region, "ec2_tags": {"Name": name}}
            for group in default_groups(record):
                assert hn.unsafe_reason(group, IID) is not None, group
                assert hn.unsafe_reason(group + "-x", IID) is not None, f"{group}-x: a glob on {group}* reaches it"


def test_a_duplicate_suffix_that_starts_like_a_default_group_is_refused():
    """Name tag 'name' twice: the second would be name_<instance id>."""
    records = [_rec(IID, "name", launch="2024-01-01T00:00:00Z"), _rec(OTHER, "name", launch="2024-02-01T00:00:00Z")]
    naming = hn.choose_hostnames(records, NAME_THEN_ID)
    assert naming.names == ["name", OTHER]
    assert [r.value for r in naming.refusals] == [f"name_{OTHER}"]


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"name": "instance-id", "prefix": "name"}, "hostnames[0].prefix"),
        ({"name": "instance-id", "prefix": "region", "separator": "_"}, "hostnames[0].prefix"),
        ({"name": "instance-id", "prefix": "acc", "separator": "ount_"}, "hostnames[0].prefix"),
        ({"name": "name_web"}, "hostnames[0].name"),
        ("tag:name=web", "hostnames[0]"),
        ("tag:Env=prod,account=x", "hostnames[0]"),
        ({"name": "instance-id", "prefix": "tag:region=eu"}, "hostnames[0]"),
    ],
)
def test_an_entry_that_can_only_give_default_group_like_names_is_refused_when_read(entry, key):
    with pytest.raises(ConfigError) as info:
        hn.parse_hostnames([entry, "instance-id"])
    assert info.value.key == key, str(info.value)
    assert "default groups" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "instance-id", "prefix": "name", "separator": "-"},
        {"name": "instance-id", "prefix": "host"},
        "tag:Name=web",
        "tag:name",  # the value of tag 'name': checked per host
        {"name": "tag:Name", "prefix": "tag:Env"},
    ],
)
def test_entries_that_need_not_start_like_a_default_group_are_accepted(entry):
    assert hn.parse_hostnames([entry])


def test_a_tag_prefix_the_instance_lacks_leaves_the_name_aws_gives_as_aws_ec2_does():
    """{name: private-ip-address, prefix: tag:Role}: an instance without the tag is named by its
    bare private address (aws_ec2's name; AWS gave it, no tag went into it), not refused as an
    address read from a tag; with the tag the prefixed name is kept."""
    prefs = hn.parse_hostnames([{"name": "private-ip-address", "prefix": "tag:Role", "separator": "-"}])
    plain = _rec("i-0000000000000000a", private_ip_address="10.0.0.5")
    tagged = _rec("i-0000000000000000b", private_ip_address="10.0.0.6")
    tagged["ec2_tags"]["Role"] = "web"
    naming = hn.choose_hostnames([plain, tagged], prefs)
    assert naming.names == ["10.0.0.5", "web-10.0.0.6"] and naming.refusals == []
    assert naming.tagged == [False, True]


def test_an_aws_name_with_colons_is_sanitised_unless_a_tag_went_into_it():
    prefs = hn.parse_hostnames([{"name": "network-interface.ipv6-addresses.ipv6-address", "prefix": "tag:Role"}])
    ipv6 = [{"ipv6_addresses": [{"ipv6_address": "2600:1f18::10"}]}]
    plain = _rec("i-0000000000000000a", network_interfaces=ipv6)
    assert hn.preference_named(plain, prefs[0]) == ("_600_1f18__10", False)  # aws_ec2: a leading digit too
    tagged = _rec("i-0000000000000000b", network_interfaces=ipv6)
    tagged["ec2_tags"]["Role"] = "web"
    # the address is sanitised on its own, as aws_ec2 does in the dict form; the tag's part never is
    assert hn.preference_named(tagged, prefs[0]) == ("web__600_1f18__10", True)
    tagged["ec2_tags"]["Role"] = "a:b"
    assert hn.preference_named(tagged, prefs[0]) == ("a:b__600_1f18__10", True)  # refused by the safety check


STAMP = "2026-12-05T02:50:13Z"


@pytest.mark.parametrize(
    "source, record",
    [
        ("launch-time", {"launch_time": "2026-12-05T02:50:13.000Z"}),
        (
            "block-device-mapping.attach-time",
            {"block_device_mappings": [{"ebs": {"attach_time": "2026-12-05T02:50:13Z"}}]},
        ),
        (
            "network-interface.attachment.attach-time",
            {"network_interfaces": [{"attachment": {"attach_time": "2026-12-05T02:50:13.000Z"}}]},
        ),
    ],
)
def test_a_timestamp_source_gives_the_name_aws_ec2_gives(source, record):
    """aws_ec2 names the host by boto3's datetime ('2026-12-05 02:50:13+00:00', then ':' and the
    rest sanitised); the record holds AWS's text ('...T02:50:13.000Z'), which gave another name."""
    name, index = hn.wanted_name(dict(record, instance_id="i-0123456789abcdef0"), hn.parse_hostnames([source]))
    assert (name, index) == ("_026_12_05_02_50_13_00_00", 0)


@pytest.mark.parametrize(
    "entry, name",
    [
        ({"name": "network-interface.mac-address", "prefix": "aws", "separator": "-"}, "aws-_2_00_00_61_f6_0e"),
        ({"name": "network-interface.mac-address", "prefix": "tag:Role"}, "db__2_00_00_61_f6_0e"),
        ({"name": "instance-type", "prefix": "network-interface.mac-address"}, "_2_00_00_61_f6_0e_t3.micro"),
        ({"name": "network-interface.mac-address"}, "_2_00_00_61_f6_0e"),
    ],
)
def test_the_dict_form_sanitises_each_part_as_aws_ec2(entry, name):
    """aws_ec2 sanitises a part holding ':' on its own, then joins: 'aws-_2_00_...'; the whole
    sanitised at once gave 'aws_02_00_...', and a tag prefix left the MAC's ':' in (refused)."""
    record = {
        "instance_id": "i-0123456789abcdef0",
        "instance_type": "t3.micro",
        "ec2_tags": {"Role": "db"},
        "network_interfaces": [{"mac_address": "02:00:00:61:f6:0e"}],
    }
    naming = hn.choose_hostnames([record], hn.parse_hostnames([entry]))
    assert naming.names == [name] and naming.refusals == []
