"""A do-nothing inventory plugin that returns one host: ansible-inventory's own start-up floor."""

from __future__ import annotations

DOCUMENTATION = r"""
name: bench_one_host
short_description: one host, for the benchmark's start-up floor
description: Adds the host C(one) and nothing else.
options:
  plugin:
    description: Marks the file as this plugin's.
    required: true
    choices: [bench_one_host]
"""

from ansible.plugins.inventory import BaseInventoryPlugin  # noqa: E402


class InventoryModule(BaseInventoryPlugin):
    NAME = "bench_one_host"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith("one_host.yml")

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        self.inventory.add_host("one")
        self.inventory.set_variable("one", "ansible_host", "127.0.0.1")
