"""Guard of the one ansible-core private interface used to set host variables made of AWS data
(plugin_utils/inventory.py:host_variable_setter, docs/design.md "Private interfaces used").

ansible-core 2.19+ wraps the InventoryData it gives inventory plugins in ``_InventoryDataWrapper``,
whose ``set_variable`` walks every value (copies, Origin tags, trust for plugins trusted by
default). The plugin sets AWS data on the wrapped InventoryData directly. These tests fail loudly
when the wrapper changes shape, and show that what is set that way is never trusted as a template.
"""

from __future__ import annotations

from types import SimpleNamespace

from ansible.inventory.data import InventoryData
from ansible.inventory.manager import _InventoryDataWrapper
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import host_variable_setter

HOSTILE = "{{ lookup('pipe', 'echo templated') }}"


def _wrapper() -> tuple[_InventoryDataWrapper, InventoryData]:
    data = InventoryData()
    plugin = SimpleNamespace(trusted_by_default=False)
    return _InventoryDataWrapper(data, target_plugin=plugin, origin=None), data


def test_guard_the_wrapper_proxies_inventory_data_and_the_setter_uses_it():
    wrapper, data = _wrapper()
    assert wrapper.__wrapped__ is data
    setter = host_variable_setter(wrapper)
    assert setter.__self__ is data and setter.__func__ is InventoryData.set_variable
    wrapper.add_host("web")
    value = {"notes": HOSTILE, "list": [HOSTILE]}
    setter("web", "ec2_tags", value)
    assert data.hosts["web"].vars["ec2_tags"] is value  # set as given: no walk, no copy


def test_anything_else_gets_its_own_set_variable():
    data = InventoryData()
    assert host_variable_setter(data) == data.set_variable
    stranger = SimpleNamespace(set_variable=lambda *a: None, __wrapped__=data)
    assert host_variable_setter(stranger) is stranger.set_variable


def test_values_set_this_way_are_never_trusted_as_templates():
    wrapper, data = _wrapper()
    wrapper.add_host("web")
    host_variable_setter(wrapper)("web", "ec2_tags", {"notes": HOSTILE})
    notes = data.hosts["web"].vars["ec2_tags"]["notes"]
    templar = Templar(loader=DataLoader(), variables={"notes": notes})
    assert templar.template(notes) == HOSTILE
    # used as a variable inside a trusted template, it stays text
    assert templar.template(trust_as_template("[{{ notes }}]")) == f"[{HOSTILE}]"
