"""Guards for every botocore behaviour that is not a documented interface (docs/design.md,
"Private interfaces used"). Each test fails loudly, naming what changed, when botocore changes
shape; the code then takes the slow path (also tested here), but the speed-up is gone and the
docs are wrong, so the failure must be looked at, not skipped.

The signing checks use the fast stand-in on loopback (tests/support/fast_aws.py): it answers with
the account of the key that signed each request."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone

import botocore.client
import botocore.credentials
import botocore.hooks
import botocore.session
import botocore.signers
import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_speedups as speedups
from ansible_collections.crossaccount.aws.plugins.module_utils.role_credentials import _REFRESH_ATTRS, refresh_windows
from tests.support.fast_aws import FastAws
from tests.support.settings import aws_context
from tests.support.stand_in import point_environment_at


@pytest.fixture(scope="module")
def server():
    srv = FastAws(regions=("us-east-1", "eu-west-1"), instances_per_account=2).start()
    yield srv
    srv.stop()


@pytest.fixture
def env(server, monkeypatch):
    point_environment_at(monkeypatch, server.endpoint)
    return server


def _owners(client) -> set[str]:
    return {r["OwnerId"] for r in client.describe_instances()["Reservations"]}


# -- 1. shared clients, per-request credentials -----------------------------------------------------


def test_guard_the_request_signer_holds_the_credentials_object_the_client_was_created_with(env):
    factory = aws_context().clients
    routed = speedups.RoutedCredentials()
    client = factory.client("ec2", "us-east-1", routed)
    assert client._request_signer._credentials is routed, (
        "botocore no longer keeps the client's credentials object in RequestSigner._credentials: "
        "shared clients are disabled (slow path); update botocore_speedups.routing_works"
    )
    assert speedups.routing_works(client, routed)


def test_guard_every_signature_asks_the_credentials_again(env):
    """RequestSigner.get_auth_instance calls credentials.get_frozen_credentials() for every request,
    in the calling thread: that is what lets one client sign for many accounts."""
    source = inspect.getsource(botocore.signers.RequestSigner.get_auth_instance)
    assert "get_frozen_credentials()" in source, "botocore's RequestSigner no longer freezes credentials per request"
    ctx = aws_context()
    a = ctx.role_credentials("arn:aws:iam::810000000001:role/Reader")
    b = ctx.role_credentials("arn:aws:iam::810000000002:role/Reader")
    with ctx.acting_as(a, "ec2", "us-east-1") as client:
        assert _owners(client) == {"810000000001"}
    with ctx.acting_as(b, "ec2", "us-east-1") as same:
        assert same is client
        assert _owners(same) == {"810000000002"}
    assert env.mismatches == 0


def test_guard_session_create_client_takes_credentials_from_get_credentials(env):
    """clients.py gives a client its own credentials through a shallow copy of the session whose
    get_credentials() returns them (botocore's create_client asks get_credentials() when no keys
    are passed)."""
    assert "self.get_credentials()" in inspect.getsource(botocore.session.Session.create_client), (
        "botocore.session.Session.create_client no longer calls get_credentials(): clients.py must change"
    )
    creds = botocore.credentials.Credentials("AKIAEXAMPLEOWNCREDS1", "secret", "token")
    client = aws_context().clients.client("ec2", "eu-west-1", creds)
    assert client._request_signer._credentials is creds


def test_slow_path_when_routing_does_not_hold(env, monkeypatch):
    monkeypatch.setattr(speedups, "routing_works", lambda client, routed: False)
    ctx = aws_context()
    credentials = ctx.role_credentials("arn:aws:iam::820000000001:role/Reader")
    with ctx.acting_as(credentials, "ec2", "us-east-1") as first:
        assert _owners(first) == {"820000000001"}
    with ctx.acting_as(credentials, "ec2", "us-east-1") as second:
        assert second is not first  # a client per call, as botocore is ordinarily used
    assert ctx.clients.shares_clients is False


def test_routed_credentials_never_show_keys_and_refuse_when_unbound():
    routed = speedups.RoutedCredentials()
    assert "ASIA" not in repr(routed)
    with pytest.raises(speedups.UnboundCredentialsError):
        routed.get_frozen_credentials()
    with pytest.raises(speedups.UnboundCredentialsError):
        with speedups.acting_as(None):
            pass


def test_guard_the_retry_quota_keeps_its_shape(env, monkeypatch):
    assert speedups.PER_ACCOUNT_QUOTA is not None, (
        "botocore.retries.quota.RetryQuota changed shape (__init__(initial_capacity, ...), acquire/release"
        "(capacity_amount)) or standard.register_retry_handler no longer makes it at call time: a shared "
        "client's retry quota serves every account of its region again; update botocore_speedups"
    )
    import botocore.retries.quota

    made = []

    class Spy(speedups.PER_ACCOUNT_QUOTA):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(speedups, "PER_ACCOUNT_QUOTA", Spy)
    original = botocore.retries.quota.RetryQuota
    factory = aws_context().clients
    factory.client("ec2", "us-east-1")  # a client of its own: botocore's quota
    assert made == []
    with factory.acting_as(botocore.credentials.Credentials("A", "a"), "ec2", "us-east-1"):
        pass
    assert len(made) == 1, "the shared client's retry handler did not take the per-account quota"
    assert botocore.retries.quota.RetryQuota is original  # swapped only while the client was made
    a, b = botocore.credentials.Credentials("A", "a"), botocore.credentials.Credentials("B", "b")
    quota = made[0]
    with speedups.acting_as(a):
        assert quota.acquire(500) and not quota.acquire(5)
    with speedups.acting_as(b):
        assert quota.available_capacity == 500 and quota.acquire(5)
    assert quota.available_capacity == 500  # unbound: botocore's one quota, untouched


# -- 2. memoised client classes ---------------------------------------------------------------------


def test_guard_client_creator_private_methods_keep_their_shape():
    assert speedups.memo_creator_class() is not None, (
        "botocore.client.ClientCreator._load_service_model/_create_client_class changed signature: "
        "client classes are no longer memoised (each client costs ~30 ms); update botocore_speedups"
    )
    assert "ClientCreator" in inspect.getsource(botocore.session.Session.create_client), (
        "Session.create_client no longer looks botocore.client.ClientCreator up at call time"
    )


def test_memo_is_used_and_botocore_is_restored(env):
    factory = aws_context().clients
    a = factory.client("ec2", "us-east-1")
    b = factory.client("ec2", "eu-west-1")
    assert type(a) is type(b) and a.meta.service_model is b.meta.service_model, (
        "no memo: botocore.client.ClientCreator no longer keeps _loader/_event_emitter (clients are made "
        "botocore's way, ~30 ms each); update botocore_speedups.memo_creator_class"
    )
    assert botocore.client.ClientCreator is not speedups.MEMO_CREATOR


def test_a_client_creator_without_loader_or_emitter_is_botocores_own(monkeypatch):
    """botocore renames ClientCreator's private _loader/_event_emitter: the memo creator is then
    botocore's class unchanged (its own methods, which use the new names), never an AttributeError
    that would fail every client."""
    base = botocore.client.ClientCreator
    monkeypatch.setattr(base, "_load_service_model", lambda self, name, api_version=None: ("model", name))
    monkeypatch.setattr(base, "_create_client_class", lambda self, name, model: ("class", name, model))
    creator = speedups.MEMO_CREATOR.__new__(speedups.MEMO_CREATOR)
    creator.__dict__.update(_data_loader=object(), _emitter=object())  # botocore's new names
    assert creator._load_service_model("ec2") == ("model", "ec2")
    assert creator._create_client_class("ec2", "m") == ("class", "ec2", "m")


# -- refresh windows (role_credentials.py) ----------------------------------------------------------


def test_guard_refresh_window_attributes_exist_and_are_honoured():
    now = datetime.now(timezone.utc)
    creds = botocore.credentials.RefreshableCredentials(
        "AKIAEXAMPLE000000000",
        "secret",
        "token",
        now + timedelta(seconds=200),
        refresh_using=lambda: {},
        method="test",
        time_fetcher=lambda: now,
    )
    for attr in _REFRESH_ATTRS:
        assert hasattr(creds, attr), f"botocore RefreshableCredentials has no {attr}: refresh windows are not applied"
    assert creds.refresh_needed()  # botocore's default advisory window (15 min) covers 200 s
    advisory, mandatory = refresh_windows(900)
    creds._advisory_refresh_timeout, creds._mandatory_refresh_timeout = advisory, mandatory
    creds._expiry_time = now + timedelta(seconds=advisory + 60)
    assert not creds.refresh_needed(), "botocore ignores _advisory_refresh_timeout"
    creds._expiry_time = now + timedelta(seconds=advisory - 10)
    assert creds.refresh_needed()


def test_role_credentials_get_the_refresh_windows(env):
    credentials = aws_context(duration_seconds=900).role_credentials("arn:aws:iam::830000000001:role/Reader")
    assert (credentials._advisory_refresh_timeout, credentials._mandatory_refresh_timeout) == refresh_windows(900)


# -- 3. the faster EC2 answer parser ------------------------------------------------------------------

_EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def _keep(value):
    return value


def _both(operation: str, body: bytes, status: int = 200):
    """(botocore's parse, the fast parse) of one EC2 answer; timestamps kept as text, as clients.py does."""
    import botocore.parsers

    model = botocore.session.get_session().get_service_model("ec2").operation_model(operation)
    response = {"body": body, "headers": {}, "status_code": status}
    slow = botocore.parsers.EC2QueryParser(timestamp_parser=_keep).parse(response, model.output_shape)
    fast = speedups.FAST_EC2_PARSER(timestamp_parser=_keep).parse(response, model.output_shape)
    return slow, fast


def _comparable(value):
    """Elements compare by content: botocore hands a repeated scalar element back as the list of its
    XML nodes, and two parses build two trees."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if hasattr(value, "tag") and hasattr(value, "text"):
        return ("element", value.tag, value.text, [_comparable(c) for c in value])
    return value


def _same(slow, fast) -> None:
    import json

    slow, fast = _comparable(slow), _comparable(fast)
    assert fast == slow
    assert json.dumps(fast) == json.dumps(slow)  # and the same key order


def _instances_answer(items: str, reservation_extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="{_EC2_NS}">'
        f"<requestId>0f3e-req</requestId><reservationSet><item><reservationId>r-1</reservationId>"
        f"<ownerId>123456789012</ownerId>{reservation_extra}<groupSet/><instancesSet>{items}</instancesSet>"
        f"</item></reservationSet><nextToken>tok</nextToken></DescribeInstancesResponse>"
    ).encode()


def test_guard_the_fast_parser_is_available():
    assert speedups.FAST_EC2_PARSER is not None, (
        "botocore's EC2QueryParser changed shape (_handle_structure, _member_key_name, _node_tag, "
        "KNOWN_LOCATIONS, _namespace_re or _handle_string): EC2 answers use botocore's slower parser; update "
        "botocore_speedups._fast_parser_class"
    )


def test_without_the_namespace_pattern_botocores_parser_is_used(monkeypatch):
    """_node_tag reads botocore's private _namespace_re (set by the parser's __init__): a botocore
    without it gets its own parser, never an AttributeError on every EC2 answer."""
    real_init = botocore.parsers.BaseXMLResponseParser.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        del self._namespace_re

    monkeypatch.setattr(botocore.parsers.BaseXMLResponseParser, "__init__", init)
    assert speedups._fast_parser_class() is None


def test_fast_parser_gives_botocores_output_on_full_instance_documents():
    from tests.support.fast_aws import instance_xml

    items = "".join(
        instance_xml(f"5050000000{a:02d}", r, i) for a in (1, 2) for r in ("us-east-1", "eu-west-1") for i in range(3)
    )
    _same(*_both("DescribeInstances", _instances_answer(items)))


def test_fast_parser_gives_botocores_output_on_moto_answers():
    """Real answers of a real EC2 implementation: several shapes of instances, captured as sent."""
    import boto3
    from moto import mock_aws

    bodies: list[bytes] = []
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b")
        ec2.meta.events.register(
            "before-parse.ec2.DescribeInstances", lambda response_dict, **kw: bodies.append(response_dict["body"])
        )
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": '<web> & "db"'}, {"Key": "empty", "Value": ""}],
                }
            ],
            BlockDeviceMappings=[{"DeviceName": "/dev/sdb", "Ebs": {"VolumeSize": 10}}],
            MetadataOptions={"HttpTokens": "required"},
        )
        ec2.stop_instances(InstanceIds=[ec2.describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]])
        ec2.describe_instances()
    assert bodies
    for body in bodies:
        _same(*_both("DescribeInstances", body))


@pytest.mark.parametrize(
    "items",
    [
        "<item><instanceId>i-1</instanceId><instanceId>i-2</instanceId></item>",  # a repeated element
        "<item><instanceId/><privateIpAddress></privateIpAddress><unknownThing>x</unknownThing></item>",
        "<item><instanceId>i-1</instanceId><tagSet><item><key>a</key></item><other><key>b</key></other></tagSet></item>",
        "<item><instanceId>i-1</instanceId><tagSet><item><key>a</key><value>1</value></item></tagSet>"
        "<tagSet><item><key>b</key><value>2</value></item></tagSet></item>",  # a repeated list
        "<item xmlns:x='urn:x'><x:instanceId>i-1</x:instanceId><instanceType a='b'>t3.micro</instanceType></item>",
        "<item><instanceId>i-1 &amp; &lt;2&gt; &#x263A;</instanceId><ebsOptimized>false</ebsOptimized>"
        "<amiLaunchIndex>0</amiLaunchIndex><cpuOptions><coreCount>2</coreCount></cpuOptions></item>",
        "<item><instanceState><code>16</code><name>running</name><name>stopped</name></instanceState></item>",
        "",
    ],
    ids=[
        "repeated",
        "empty-and-unknown",
        "odd-list-items",
        "repeated-list",
        "namespaces",
        "entities",
        "repeat-in-struct",
        "none",
    ],
)
def test_fast_parser_gives_botocores_output_on_odd_answers(items):
    import botocore.parsers

    model = botocore.session.get_session().get_service_model("ec2").operation_model("DescribeInstances")
    body = _instances_answer(items, reservation_extra="<requesterId/>")
    outcomes = []
    for parser in (botocore.parsers.EC2QueryParser, speedups.FAST_EC2_PARSER):
        try:
            parsed = parser(timestamp_parser=_keep).parse(
                {"body": body, "headers": {}, "status_code": 200}, model.output_shape
            )
            outcomes.append(("parsed", _comparable(parsed)))
        except Exception as exc:  # noqa: BLE001 - both must fail the same way, if they fail
            outcomes.append(("raised", type(exc)))
    assert outcomes[0] == outcomes[1]


def test_a_repeated_scalar_never_reaches_host_variables():
    """botocore (and so the fast parser) hands a repeated scalar element back as XML nodes: the
    host record refuses it, so that account-region fails instead of objects reaching the inventory."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.errors import NotAnAwsResponse
    from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import instance_record

    _slow, fast = _both(
        "DescribeInstances",
        _instances_answer(
            "<item><instanceId>i-1</instanceId><instanceType>a</instanceType><instanceType>b</instanceType></item>"
        ),
    )
    reservation = fast["Reservations"][0]
    with pytest.raises(NotAnAwsResponse, match="instance_type"):
        instance_record(
            reservation["Instances"][0],
            reservation=reservation,
            account_id="123456789012",
            account_name=None,
            region="eu-west-1",
        )


def test_the_plan_lives_on_the_shape():
    """Kept with the service model (freed with it), not in a module-level table."""
    _both("DescribeRegions", b"<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>")
    model = botocore.session.get_session().get_service_model("ec2").operation_model("DescribeRegions")
    fresh = speedups.FAST_EC2_PARSER(timestamp_parser=_keep)
    fresh.parse(
        {
            "body": b"<DescribeRegionsResponse><regionInfo/></DescribeRegionsResponse>",
            "headers": {},
            "status_code": 200,
        },
        model.output_shape,
    )
    assert speedups._PLAN_ATTR in model.output_shape.__dict__
    assert not hasattr(speedups, "_PLANS")


def test_fast_parser_gives_botocores_output_on_regions_and_errors():
    regions = (
        f'<DescribeRegionsResponse xmlns="{_EC2_NS}"><requestId>r</requestId><regionInfo>'
        "<item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>"
        "<optInStatus>opt-in-not-required</optInStatus></item></regionInfo></DescribeRegionsResponse>"
    ).encode()
    _same(*_both("DescribeRegions", regions))
    error = (
        b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors>"
        b"<RequestID>abc</RequestID></Response>"
    )
    _same(*_both("DescribeInstances", error, status=403))


def test_the_client_factory_installs_the_fast_parser_for_ec2_only():
    import botocore.parsers

    factory = aws_context().clients.session.get_component("response_parser_factory")
    assert type(factory.create_parser("ec2")) is speedups.FAST_EC2_PARSER
    assert type(factory.create_parser("query")) is botocore.parsers.QueryParser
    assert factory.create_parser("ec2")._timestamp_parser("2024-01-01T00:00:00.000Z") == "2024-01-01T00:00:00.000Z"


def test_botocores_parser_when_its_shape_changes(monkeypatch):
    import botocore.parsers

    monkeypatch.setattr(botocore.parsers.EC2QueryParser, "_handle_structure", lambda self, shape, node, extra=None: {})
    assert speedups._fast_parser_class() is None
    # an EC2 override with the same signature is a change of behaviour too
    monkeypatch.setattr(botocore.parsers.EC2QueryParser, "_handle_structure", lambda self, shape, node: {})
    assert speedups._fast_parser_class() is None
    monkeypatch.setattr(speedups, "FAST_EC2_PARSER", None)
    assert type(speedups.parser_factory(timestamp_parser=_keep).create_parser("ec2")) is botocore.parsers.EC2QueryParser


def test_the_tag_memo_is_bounded():
    slow, fast = _both(
        "DescribeInstances", _instances_answer("".join(f"<item><t{n}>x</t{n}></item>" for n in range(5000)))
    )
    _same(slow, fast)
    assert len(speedups._TAGS) <= speedups._MAX_TAGS


# -- 4. one event-name alias memo for all clients ---------------------------------------------------

EVENT_NAMES = [
    "before-call.ec2.DescribeInstances",
    "provide-client-params.ec2.DescribeInstances",
    "before-parameter-build.ec2.DescribeInstances",
    "request-created.ec2.DescribeInstances",
    "needs-retry.ec2.DescribeInstances",
    "after-call.ec2.DescribeInstances",
    "before-sign.ec2.DescribeInstances",
    "choose-signer.sts.AssumeRole",
    "creating-client-class.ec2",
    "before-call.apigateway",
    "before-call.api-gateway.GetExport",  # an aliased service name
    "before-parameter-build.autoscaling.CreateLaunchConfiguration",
    "docs.*.autoscaling.CreateLaunchConfiguration.complete-section",
    "before-call.s3.PutObject",
]


def test_guard_the_event_aliaser_keeps_its_shape():
    assert speedups.SHARED_MEMO_ALIASER is not None, (
        "botocore.hooks.EventAliaser changed shape (__init__(event_emitter, event_aliases), _emitter, "
        "_event_aliases, _alias_name_cache, __copy__): every client re-aliases event names again "
        "(~1-2 ms each); update botocore_speedups._shared_memo_aliaser_class"
    )
    assert isinstance(botocore.session.Session().get_component("event_emitter"), botocore.hooks.EventAliaser), (
        "the session's event_emitter component is no longer botocore's EventAliaser"
    )


def test_clients_share_one_alias_memo_and_alias_as_botocore_does(env):
    factory = aws_context().clients
    a = factory.client("ec2", "us-east-1")
    b = factory.client("ec2", "eu-west-1")
    sts = factory.client("sts", "us-east-1")
    assert type(a.meta.events) is speedups.SHARED_MEMO_ALIASER
    assert a.meta.events._alias_name_cache is b.meta.events._alias_name_cache is sts.meta.events._alias_name_cache
    assert a.meta.events is not b.meta.events  # each client keeps handlers of its own
    plain = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter())
    for name in EVENT_NAMES:  # the shared memo answers what botocore's own aliaser answers
        assert a.meta.events._alias_event_name(name) == plain._alias_event_name(name), name
        assert b.meta.events._alias_event_name(name) == plain._alias_event_name(name), name
    assert "before-call.api-gateway.GetExport" in a.meta.events._alias_name_cache


def test_handlers_of_the_session_and_of_one_client_stay_where_they_were_registered(env):
    ctx = aws_context()
    factory = ctx.clients
    creds = ctx.role_credentials("arn:aws:iam::830000000001:role/Reader")
    seen: list[str] = []
    factory.session.register("before-call.ec2.DescribeInstances", lambda **kw: seen.append("session"))
    a = factory.client("ec2", "us-east-1", creds)
    b = factory.client("ec2", "eu-west-1", creds)
    a.meta.events.register("before-call.ec2.DescribeInstances", lambda **kw: seen.append("a"))
    b.describe_instances()
    assert seen == ["session"]
    seen.clear()
    a.describe_instances()
    assert sorted(seen) == ["a", "session"]


def test_clients_alias_as_botocore_does_when_the_aliaser_changes_shape(env, monkeypatch):
    monkeypatch.setattr(speedups, "SHARED_MEMO_ALIASER", None)
    ctx = aws_context()
    creds = ctx.role_credentials("arn:aws:iam::830000000002:role/Reader")
    a = ctx.clients.client("ec2", "us-east-1", creds)
    b = ctx.clients.client("ec2", "eu-west-1", creds)
    assert type(a.meta.events) is botocore.hooks.EventAliaser
    assert a.meta.events._alias_name_cache is not b.meta.events._alias_name_cache
    assert a.describe_instances()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_emitter_of_someone_else_is_left_alone():
    session = botocore.session.Session()

    class Theirs(botocore.hooks.EventAliaser):
        pass

    theirs = Theirs(botocore.hooks.HierarchicalEmitter())
    session.register_component("event_emitter", theirs)
    assert speedups.share_alias_memo(session) is False
    assert session.get_component("event_emitter") is theirs
    fresh = botocore.session.Session()
    assert speedups.share_alias_memo(fresh) is True
    assert type(fresh.get_component("event_emitter")) is speedups.SHARED_MEMO_ALIASER
