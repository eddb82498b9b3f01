"""Fixtures: one moto stand-in per test process (behind the fault layer), seeded once with the
Example Corp fleet, and a helper to write inventory files."""

from __future__ import annotations

import pytest

from tests.support.faults import FaultLayer
from tests.support.fleet import example_corp, seed
from tests.support.session_manager import SessionManagerLayer
from tests.support.stand_in import StandIn, point_environment_at


@pytest.fixture(scope="session")
def stand_in():
    holder = {}

    def middleware(app):
        holder["faults"] = FaultLayer(app)
        holder["ssm"] = SessionManagerLayer(holder["faults"])
        return holder["ssm"]

    server = StandIn(middleware=middleware).start()
    server.faults = holder["faults"]
    server.ssm = holder["ssm"]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fleet(stand_in):
    """The seeded Example Corp instances: a list of {account, region, instance_id, name, state, ...}."""
    return seed(stand_in.endpoint, example_corp())


@pytest.fixture
def faults(stand_in):
    layer = stand_in.faults
    layer.reset()
    yield layer
    layer.reset()


@pytest.fixture
def write_inventory(tmp_path):
    def _write(text: str, name: str = "test.ec2.yml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return _write


@pytest.fixture
def aws_environment(stand_in, monkeypatch):
    """This process's environment pointed at the stand-in (for in-process engine tests)."""
    point_environment_at(monkeypatch, stand_in.endpoint)
