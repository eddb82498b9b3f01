"""Unit tests for the client factory (clients.py, through AwsContext): the per-session client memo.

No AWS call is made: clients are only built and inspected."""

from __future__ import annotations

import threading

import botocore.client
import botocore.credentials
import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_speedups as creds_mod
from tests.support.settings import aws_context


@pytest.fixture
def env(monkeypatch, tmp_path):
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DATA_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASOURCEEXAMPLE000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def _keys(client) -> str:
    return client._request_signer._credentials.get_frozen_credentials().access_key


def _account_creds(n: int):
    return botocore.credentials.Credentials(f"AKIAACCOUNT{n:09d}", f"secret-{n}", f"token-{n}")


def test_memoised_clients_share_class_and_model_but_not_credentials_or_region(env):
    ctx = aws_context()
    a = ctx.create_client("ec2", "us-east-1", _account_creds(1))
    b = ctx.create_client("ec2", "eu-west-1", _account_creds(2))
    c = ctx.create_client("ec2", "eu-west-1", None)
    assert type(a) is type(b) is type(c)
    assert a.meta.service_model is b.meta.service_model
    assert (_keys(a), _keys(b), _keys(c)) == ("AKIAACCOUNT000000001", "AKIAACCOUNT000000002", "AKIASOURCEEXAMPLE000")
    assert (a.meta.region_name, b.meta.region_name) == ("us-east-1", "eu-west-1")
    assert a.meta.events is not b.meta.events and a._endpoint is not b._endpoint
    assert a.meta.config.retries["total_max_attempts"] == 10
    # botocore's module attribute is restored after every creation
    assert botocore.client.ClientCreator is not creds_mod.MEMO_CREATOR


def test_other_sessions_are_untouched(env):
    aws_context().create_client("ec2", "us-east-1")
    other = aws_context(memoise_clients=False)
    x = other.create_client("ec2", "us-east-1")
    y = other.create_client("ec2", "us-east-1")
    assert type(x) is not type(y), "a session that is not memoised builds its class per client, as botocore does"


def test_falls_back_when_botocore_internals_differ(env, monkeypatch):
    class Changed:
        def _load_service_model(self, service_name, api_version=None, extra=None): ...

        def _create_client_class(self, service_name, service_model): ...

    monkeypatch.setattr(botocore.client, "ClientCreator", Changed)
    assert creds_mod.memo_creator_class() is None
    monkeypatch.undo()
    monkeypatch.setattr(creds_mod, "MEMO_CREATOR", None)
    ctx = aws_context()
    assert ctx.clients._memoised is False
    client = ctx.create_client("ec2", "us-east-1", _account_creds(3))
    assert _keys(client) == "AKIAACCOUNT000000003"


def test_one_sts_client_per_source_keys(env):
    ctx = aws_context()
    keys = dict(aws_access_key_id="AKIASOURCE1", aws_secret_access_key="s1", aws_session_token=None)
    first = ctx.roles._sts_client_with_keys("us-east-1", "sts", **keys)
    assert ctx.roles._sts_client_with_keys("us-east-1", "sts", **keys) is first
    rotated = ctx.roles._sts_client_with_keys("us-east-1", "sts", **dict(keys, aws_access_key_id="AKIASOURCE2"))
    assert rotated is not first and _keys(rotated) == "AKIASOURCE2"
    assert ctx.roles._sts_client_with_keys("eu-west-1", "sts", **keys) is not first
    # the memo holds digests, not the keys
    assert not any("AKIASOURCE" in str(k) or "s1" in str(k) for k in ctx.roles._sts_clients)


def test_the_opening_burst_makes_one_sts_client(env, monkeypatch):
    # every worker's first AssumeRole starts at once: one client is made, not one per worker
    ctx = aws_context()
    made = []
    real = ctx.clients.client

    def counting(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ctx.clients, "client", counting)
    keys = dict(aws_access_key_id="AKIASOURCE1", aws_secret_access_key="s1", aws_session_token=None)
    start = threading.Barrier(16)
    got = []

    def worker():
        start.wait()
        got.append(ctx.roles._sts_client_with_keys("us-east-1", "sts", **keys))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(got) == 16 and all(c is got[0] for c in got)


# -- warming the shared clients (scanner.scan makes them while the AssumeRole calls are in flight) --


def test_warm_makes_each_shared_client_once_in_order(env):
    ctx = aws_context()
    existing = ctx.clients._shared_client("ec2", "eu-west-1")
    made = ctx.warm("ec2", ["us-east-1", "eu-west-1", "ap-south-1", "us-east-1"], threading.Event())
    assert made == 2, "eu-west-1 existed and us-east-1 is listed twice"
    assert list(ctx.clients._shared) == [("ec2", "eu-west-1"), ("ec2", "us-east-1"), ("ec2", "ap-south-1")]
    # the calls find the warmed clients: no second client per region
    with ctx.acting_as(_account_creds(4), "ec2", "ap-south-1") as client:
        assert client is ctx.clients._shared["ec2", "ap-south-1"]
    with ctx.acting_as(_account_creds(4), "ec2", "eu-west-1") as client:
        assert client is existing
    assert client.meta.region_name == "eu-west-1"


def test_warm_stops_when_told(env):
    ctx = aws_context()
    stop = threading.Event()
    real = ctx.clients._shared_client

    def then_stop(service, region):
        stop.set()  # set while the first client is made: no second one
        return real(service, region)

    ctx.clients._shared_client = then_stop
    assert ctx.warm("ec2", ["us-east-1", "us-west-2", "eu-west-1"], stop) == 1
    assert list(ctx.clients._shared) == [("ec2", "us-east-1")]
    assert ctx.warm("ec2", ["us-west-2"], stop) == 0


def test_warm_gives_up_quietly_and_leaves_the_error_to_the_call(env, monkeypatch):
    ctx = aws_context()
    calls = []

    def broken(service, region):
        calls.append(region)
        raise RuntimeError("botocore cannot make this client")

    monkeypatch.setattr(ctx.clients, "_shared_client", broken)
    assert ctx.warm("ec2", ["us-east-1", "us-west-2"], threading.Event()) == 0
    assert calls == ["us-east-1"], "the first failure ends the warm-up"
    monkeypatch.undo()
    # nothing half-made is left behind: the call makes its client as it would have
    assert ctx.clients._shared == {}
    with ctx.acting_as(_account_creds(5), "ec2", "us-east-1") as client:
        assert client.meta.region_name == "us-east-1"


@pytest.mark.parametrize("share", [True, False], ids=["shared clients", "client per call"])
def test_acting_as_without_credentials_is_refused_on_both_paths(env, share):
    """No account's credentials: refused, never a client signing as the controller (what
    ``client(service, region)`` without credentials is, and what the slow path made)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.botocore_speedups import UnboundCredentialsError

    ctx = aws_context(share_clients=share)
    with pytest.raises(UnboundCredentialsError):
        with ctx.acting_as(None, "ec2", "us-east-1"):
            pass


def test_warm_makes_nothing_without_shared_clients(env):
    ctx = aws_context(share_clients=False)
    assert ctx.warm("ec2", ["us-east-1"], threading.Event()) == 0
    assert ctx.clients._shared == {}


@pytest.mark.parametrize(
    ("option", "environ", "key"),
    [
        ("nosuch", {}, "profile"),
        (None, {"AWS_PROFILE": "nosuch"}, "AWS_PROFILE"),
        (None, {"AWS_DEFAULT_PROFILE": "nosuch"}, "AWS_DEFAULT_PROFILE"),
    ],
)
def test_a_profile_the_config_files_do_not_define_is_one_config_error(env, monkeypatch, option, environ, key):
    """botocore's ProfileNotFound (a multi-line traceback through ansible-core) becomes one line
    naming where the name was given, before any AWS call."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError

    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    ctx = aws_context(profile=option)
    with pytest.raises(ConfigError) as info:
        ctx.source_credentials()
    err = info.value
    assert err.key == key and "'nosuch'" in err.problem and "aws configure list-profiles" in err.fix, str(err)
    assert "\n" not in str(err)
