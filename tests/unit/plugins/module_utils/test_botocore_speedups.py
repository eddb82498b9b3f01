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
    assert type(a) is type(b) and a.meta.service_model is b.meta.service_model
    assert botocore.client.ClientCreator is not speedups.MEMO_CREATOR


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
