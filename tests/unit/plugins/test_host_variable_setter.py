"""Guard of the one ansible-core private interface used to set host variables made of AWS data
(plugin_utils/inventory.py:host_variable_setter, docs/design.md "Private interfaces used").

ansible-core 2.19+ wraps the InventoryData it gives inventory plugins in ``_InventoryDataWrapper``,
whose ``set_variable`` walks every value (copies, Origin tags, trust for plugins trusted by
default). The plugin sets AWS data on the wrapped InventoryData directly. These tests fail loudly
when the wrapper changes shape, and show that what is set that way is never trusted as a template.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import _InventoryDataWrapper
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import (
    host_variable_setter,
    host_variables_setter,
)

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


# -- host_variables_setter: a host's variables at once -------------------------------------------


def test_guard_hosts_keep_their_variables_in_a_vars_dict():
    from ansible.inventory.host import Host

    host = Host("web")
    assert type(host.vars) is dict
    host.set_variable("x", 1)
    assert host.vars["x"] == 1


def _spy_on_host_set_variable(monkeypatch) -> list[str]:
    from ansible.inventory.host import Host

    calls: list[str] = []
    original = Host.set_variable

    def spy(self, key, value):
        calls.append(key)
        return original(self, key, value)

    monkeypatch.setattr(Host, "set_variable", spy)
    return calls


def test_many_variables_are_set_as_given_and_each_name_is_checked_once(monkeypatch):
    calls = _spy_on_host_set_variable(monkeypatch)
    wrapper, data = _wrapper()
    set_variables = host_variables_setter(wrapper)
    tags = {"notes": HOSTILE}
    for name in ("web1", "web2", "web3"):
        wrapper.add_host(name)
        set_variables(name, {"instance_id": f"i-{name}", "ec2_tags": tags, "state": {"name": "running"}})
    assert data.hosts["web3"].vars["ec2_tags"] is tags  # no walk, no copy
    assert data.hosts["web2"].vars["instance_id"] == "i-web2"
    ours = sorted(c for c in calls if c not in ("inventory_file", "inventory_dir"))  # add_host's own
    assert ours == ["ec2_tags", "instance_id", "state"]  # ansible-core's own check, once per name


def test_an_invalid_name_still_gets_ansible_cores_deprecation(monkeypatch):
    from ansible.inventory import host as host_module

    warned = []
    monkeypatch.setattr(host_module.Display, "deprecated", lambda self, msg, **kw: warned.append(msg))
    wrapper, data = _wrapper()
    wrapper.add_host("web")
    host_variables_setter(wrapper)("web", {"not-a-name": 1})
    assert warned and "not-a-name" in warned[0]
    assert data.hosts["web"].vars["not-a-name"] == 1


@pytest.mark.parametrize("hash_behaviour", ["replace", "merge"])
def test_same_result_as_one_variable_at_a_time_including_merges_with_other_sources(monkeypatch, hash_behaviour):
    from ansible import constants as C

    monkeypatch.setattr(C, "DEFAULT_HASH_BEHAVIOUR", hash_behaviour)
    # a host another source added first (with a mapping variable), then two of ours
    results = []
    for bulk in (True, False):
        wrapper, data = _wrapper()
        wrapper.add_host("web")
        data.hosts["web"].set_variable("placement", {"from": "static", "kept": True})
        wrapper.add_host("db")
        steps = [
            ("web", {"placement": {"availability_zone": "eu-west-1a"}, "instance_id": "i-1"}),
            ("db", {"placement": {"availability_zone": "eu-west-1b"}, "instance_id": "i-2"}),
            ("web", {"placement": {"tenancy": "default"}, "instance_id": "i-3"}),
        ]
        if bulk:
            set_variables = host_variables_setter(wrapper)
            for name, variables in steps:
                set_variables(name, variables)
        else:
            set_one = host_variable_setter(wrapper)
            for name, variables in steps:
                for var, value in variables.items():
                    set_one(name, var, value)
        results.append({name: dict(host.vars) for name, host in data.hosts.items()})
    assert results[0] == results[1]
    assert results[0]["web"]["instance_id"] == "i-3"
    merged = {"from": "static", "kept": True, "availability_zone": "eu-west-1a", "tenancy": "default"}
    assert results[0]["web"]["placement"] == (merged if hash_behaviour == "merge" else {"tenancy": "default"})


def test_a_host_named_like_a_group_gets_host_variables():
    wrapper, data = _wrapper()
    wrapper.add_group("web")
    wrapper.add_host("web")
    host_variables_setter(wrapper)("web", {"instance_id": "i-1"})
    assert data.hosts["web"].vars["instance_id"] == "i-1"
    assert "instance_id" not in data.groups["web"].vars


def test_an_unknown_proxy_gets_its_own_set_variable_for_every_variable():
    data = InventoryData()
    data.add_host("web")
    seen = []

    class Proxy:  # not ansible-core's wrapper: its set_variable must see every value
        hosts = data.hosts
        __wrapped__ = data

        def set_variable(self, entity, varname, value):
            seen.append((entity, varname))

    host_variables_setter(Proxy())("web", {"a": 1, "b": 2})
    assert seen == [("web", "a"), ("web", "b")]
    assert "a" not in data.hosts["web"].vars
