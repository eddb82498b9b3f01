"""bench.floor.one_host: returns one host. ansible-inventory's start-up floor, loaded the way
crossaccount.aws.ec2 is (a collection plugin found by the ``auto`` plugin)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: one_host
short_description: one host, for the benchmark's start-up floor
description: Adds the host C(one) and nothing else.
options:
  plugin:
    description: Marks the file as this plugin's.
    required: true
    choices: [bench.floor.one_host]
"""

from ansible.plugins.inventory import BaseInventoryPlugin  # noqa: E402


class InventoryModule(BaseInventoryPlugin):
    NAME = "bench.floor.one_host"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith("one_host.yml")

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self.inventory.add_host("one")
        self.inventory.set_variable("one", "ansible_host", "127.0.0.1")
