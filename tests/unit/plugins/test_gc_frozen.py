"""The parse runs with ansible-core's start-up heap frozen out of the cyclic garbage collector
(plugin_utils/inventory.py gc_frozen: the public gc.freeze/gc.unfreeze), and leaves the collector
as it found it: unfrozen after the parse, whether it ends well or raises, and a host's own freeze
or disabled collector untouched."""

from __future__ import annotations

import gc

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

from ansible_collections.crossaccount.aws.plugins.inventory import ec2
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import ConfigError
from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import OneLineParserError, gc_frozen
from tests.support.settings import plugin as fresh_plugin


@pytest.fixture(autouse=True)
def collector_as_found():
    assert gc.isenabled() and gc.get_freeze_count() == 0, "a test before this one left the collector changed"
    yield
    gc.unfreeze()
    gc.enable()


def test_what_exists_is_frozen_during_the_block_and_unfrozen_after():
    before = [[] for _ in range(1000)]  # lists: objects the collector tracks
    assert all(gc.is_tracked(x) for x in before)
    with gc_frozen():
        frozen = gc.get_freeze_count()
        assert frozen >= len(before)
        made_inside = [[] for _ in range(1000)]
        # what the parse makes stays with the collector: the frozen count does not grow with it
        assert gc.get_freeze_count() <= frozen
        assert all(gc.is_tracked(x) for x in made_inside)
    assert gc.get_freeze_count() == 0


def test_unfrozen_when_the_block_raises():
    with pytest.raises(RuntimeError), gc_frozen():
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the scan failed")
    assert gc.get_freeze_count() == 0


def test_a_hosts_own_freeze_is_left_alone():
    gc.freeze()
    assert gc.get_freeze_count() > 0
    with gc_frozen():
        pass
    # (the count itself may drop by a few: frozen objects still die when their last reference goes)
    assert gc.get_freeze_count() > 0, "gc.unfreeze would have undone the host's freeze"


def test_a_disabled_collector_is_left_alone():
    gc.disable()
    with gc_frozen():
        assert gc.get_freeze_count() == 0
    assert not gc.isenabled() and gc.get_freeze_count() == 0


def test_the_plugins_parse_runs_frozen_and_leaves_nothing_frozen(monkeypatch, tmp_path):
    seen = []

    def refusing(plugin, path):
        seen.append(gc.get_freeze_count())
        raise ConfigError("role_name", "missing", "write role_name: Reader")

    monkeypatch.setattr(ec2, "load_settings", refusing)
    path = tmp_path / "x.ec2.yml"
    path.write_text("plugin: crossaccount.aws.ec2\n")
    with pytest.raises(OneLineParserError):
        fresh_plugin().parse(InventoryData(), DataLoader(), str(path), cache=False)
    assert seen and seen[0] > 0, "the parse did not run frozen"
    assert gc.get_freeze_count() == 0
