"""The export's check that every crossaccount.aws.ec2 inventory source loaded
(plugins/action/cmdb_export.py) reads ansible-core's InventoryManager: ``_sources`` (when the command
line's sources are not there) and ``_inventory.processed_sources``, neither a public interface. These
tests fail loudly when ansible-core changes that shape; the export then refuses to write (never
reads a change as "every source loaded")."""

from __future__ import annotations

from types import SimpleNamespace

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

from ansible_collections.crossaccount.aws.plugins.action import cmdb_export


def _manager(tmp_path, *names):
    good = tmp_path / "hosts.ini"
    good.write_text("[web]\nweb1\n")
    sources = [str(good)] + [str(tmp_path / n) for n in names]
    return InventoryManager(loader=DataLoader(), sources=sources), str(good), sources


def test_ansible_core_keeps_the_sources_and_the_parsed_ones_where_the_export_reads_them(tmp_path):
    manager, good, sources = _manager(tmp_path, "gone.ini")
    # the shape read: InventoryManager._sources, InventoryManager._inventory.processed_sources
    assert manager._sources == sources
    assert isinstance(manager._inventory.processed_sources, list)
    assert manager._inventory.processed_sources == [good], "a source that failed is not listed"
    assert cmdb_export.inventory_sources(manager) == sources
    assert cmdb_export.processed_sources(manager) == [good]


def test_a_failed_source_named_like_ours_is_reported(tmp_path):
    manager, _good, sources = _manager(tmp_path, "shard2.ec2.yml")
    problem = cmdb_export.failed_sources_problem({}, manager)
    assert problem.startswith("1 inventory source(s) of crossaccount.aws.ec2 failed to load (")
    assert sources[1] in problem and "the previous export is left as it was" in problem


def test_sources_of_other_plugins_are_not_checked(tmp_path):
    manager, _good, _sources = _manager(tmp_path, "gone.ini")
    assert cmdb_export.failed_sources_problem({}, manager) is None


def test_an_unknown_shape_refuses_rather_than_reads_as_loaded(tmp_path):
    ours = tmp_path / "shard.ec2.yml"
    ours.write_text("plugin: crossaccount.aws.ec2\n")
    assert cmdb_export.processed_sources(SimpleNamespace()) is None
    assert cmdb_export.processed_sources(SimpleNamespace(_inventory=SimpleNamespace(processed_sources=None))) is None
    assert cmdb_export.inventory_sources(SimpleNamespace()) is None
    changed = SimpleNamespace(_sources=[str(ours)], _inventory=SimpleNamespace())
    assert cmdb_export.failed_sources_problem({}, changed) == cmdb_export.CANNOT_TELL
    assert cmdb_export.failed_sources_problem({}, SimpleNamespace()) == cmdb_export.CANNOT_TELL
