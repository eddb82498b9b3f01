"""Session-role credentials: the main process's broker serves its forked workers, so each role is
assumed once however many workers ask; a denied role is an error with AWS's code, asked again next
time; without a broker a process assumes each role once for itself. Against the moto stand-in on
loopback, counting AssumeRole calls where they arrive."""

from __future__ import annotations

import multiprocessing

import pytest

from ansible_collections.crossaccount.aws.plugins.module_utils import ssm_credentials
from tests.support.faults import Fault, FaultLayer
from tests.support.session_manager import SessionManagerLayer
from tests.support.stand_in import StandIn, point_environment_at

ROLE = "arn:aws:iam::{}:role/AnsibleSessionManager"
# the stand-in's server threads run while workers fork, as ansible-core's result thread does
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


@pytest.fixture(scope="module")
def server():
    holder = {}

    def middleware(app):
        holder["faults"] = FaultLayer(app)
        holder["ssm"] = SessionManagerLayer(holder["faults"])
        return holder["ssm"]

    srv = StandIn(middleware=middleware).start()
    srv.faults, srv.ssm = holder["faults"], holder["ssm"]
    yield srv
    srv.stop()


@pytest.fixture
def env(server, monkeypatch):
    point_environment_at(monkeypatch, server.endpoint)
    server.ssm.reset()
    server.faults.reset()
    saved_broker, saved_local = dict(ssm_credentials._BROKER), dict(ssm_credentials._LOCAL)
    ssm_credentials._BROKER.clear()
    ssm_credentials._LOCAL.clear()
    yield server
    ssm_credentials._BROKER.clear()
    ssm_credentials._BROKER.update(saved_broker)
    ssm_credentials._LOCAL.clear()
    ssm_credentials._LOCAL.update(saved_local)
    server.faults.reset()


def _worker(role_arn: str, queue) -> None:
    try:
        creds = ssm_credentials.session_credentials(role_arn)
        queue.put(("ok", creds["access_key"], role_arn))
    except ssm_credentials.SessionCredentialsError as exc:
        queue.put(("error", exc.code, role_arn, str(exc)))


def _fork_workers(roles: list[str]) -> list[tuple]:
    ctx = multiprocessing.get_context("fork")  # what ansible-core's WorkerProcess uses
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(role, queue)) for role in roles]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    return results


def test_forked_workers_share_one_assume_role_per_role(env):
    assert ssm_credentials.start_broker()
    roles = [ROLE.format("222222222222"), ROLE.format("333333333333")] * 4
    results = _fork_workers(roles)
    assert all(r[0] == "ok" for r in results), results
    calls = {arn: n for arn, n in env.ssm.assume_calls.items() if arn.endswith("AnsibleSessionManager")}
    assert calls == {ROLE.format("222222222222"): 1, ROLE.format("333333333333"): 1}
    # every worker of one role got the same keys, handed out by the stand-in for that role
    keys = {role: {r[1] for r in results if r[2] == role} for role in set(roles)}
    assert all(len(v) == 1 for v in keys.values()) and len(set().union(*keys.values())) == 2
    for role, (key,) in keys.items():
        assert env.ssm.roles_by_key[key] == role


def test_a_denied_role_is_an_error_with_the_code_and_is_asked_again(env):
    env.faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account="444444444444", status=403)])
    assert ssm_credentials.start_broker()
    results = _fork_workers([ROLE.format("444444444444"), ROLE.format("222222222222")])
    by_role = {r[2]: r for r in results}
    denied = by_role[ROLE.format("444444444444")]
    assert denied[:2] == ("error", "AccessDenied"), results
    assert by_role[ROLE.format("222222222222")][0] == "ok"
    # not cached: the next worker asks AWS again (the role may have been fixed meanwhile)
    again = _fork_workers([ROLE.format("444444444444")])
    assert again[0][:2] == ("error", "AccessDenied")
    assert env.faults.injected[("AccessDenied", "AssumeRole", "444444444444", "us-east-1")] == 2


def test_without_a_broker_a_process_assumes_each_role_once(env):
    first = ssm_credentials.session_credentials(ROLE.format("222222222222"))
    second = ssm_credentials.session_credentials(ROLE.format("222222222222"))
    assert first == second
    assert env.ssm.assume_calls[ROLE.format("222222222222")] == 1


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::222222222222:user/alice",
        "arn:aws:iam::222222222222:role/AnsibleSessionManager\n",  # whole values only
        "arn:aws:iam::22222222222\u0662:role/AnsibleSessionManager",  # ASCII digits only
        "arn:nope:iam::222222222222:role/AnsibleSessionManager",  # a partition of partitions.py
    ],
)
def test_not_a_role_arn_is_refused_without_a_call(env, arn):
    with pytest.raises(ssm_credentials.SessionCredentialsError) as caught:
        ssm_credentials.session_credentials(arn)
    assert caught.value.code == "InvalidRoleArn"
    assert not env.ssm.assume_calls


def test_each_sources_roles_are_assumed_the_way_that_source_says(env):
    """Two inventory sources in one run (-i a.ec2.yml -i b.ec2.yml) with their own sts_region and
    duration_seconds (and profile): each session role is assumed as the source listing its
    account says, not as the first source does."""
    a, b = ROLE.format("222222222222"), ROLE.format("333333333333")
    assert ssm_credentials.start_broker(sts_region="us-east-1", duration_seconds=900, role_arns=[a])
    assert ssm_credentials.start_broker(sts_region="eu-west-1", duration_seconds=1800, role_arns=[b, a])
    first, second = ssm_credentials._broker_cache(a), ssm_credentials._broker_cache(b)
    assert (first.sts_region, first.duration_seconds) == ("us-east-1", 900)  # a role two list: the first's
    assert (second.sts_region, second.duration_seconds) == ("eu-west-1", 1800)
    assert ssm_credentials._broker_cache(ROLE.format("444444444444")) is first  # unknown: the first source's
    results = _fork_workers([a, b, b])
    assert all(r[0] == "ok" for r in results), results
    calls = {key: n for key, n in env.faults.calls.items() if key[0] == "AssumeRole"}
    assert calls == {("AssumeRole", "222222222222", "us-east-1"): 1, ("AssumeRole", "333333333333", "eu-west-1"): 1}
