"""Settings the way the inventory plugin computes them, for in-process tests.

The plugin's option definitions (its DOCUMENTATION with the doc fragments, as ansible-core loads
them), the pre-pass ``config.check_config``, ansible-core's option machinery (``set_options``: the
documented types and defaults) and ``config.build_settings``: the same steps as
``plugin_utils.inventory.load_settings``, without the files. No default is written here."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from tests.support.cli import COLLECTIONS

NAME = "crossaccount.aws.ec2"


def plugin():
    """A fresh instance of the inventory plugin, loaded by ansible-core's plugin loader (tests/conftest.py
    installs ansible-core's collection loader before anything imports the collection)."""
    from ansible.plugins.loader import inventory_loader

    loaded = inventory_loader.get(NAME)
    assert loaded is not None, f"ansible-core cannot load {NAME} from {COLLECTIONS}"
    return loaded


def definitions() -> dict[str, dict[str, Any]]:
    from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import option_definitions

    return option_definitions(plugin())


def settings_from(
    raw: Any,
    *,
    file_accounts: Any = None,
    known_regions: frozenset[str] | None = None,
    known_attributes: frozenset[str] | None = None,
):
    """``Settings`` of a raw configuration mapping (``plugin:`` added when missing)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.config import (
        build_settings,
        check_config,
        check_plugin,
    )
    from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain

    if isinstance(raw, Mapping) and "plugin" not in raw:
        raw = {"plugin": NAME, **raw}
    instance = plugin()
    defs = definitions()
    check_plugin(raw, (NAME,))
    check_config(raw, defs, file_accounts=file_accounts, known_regions=known_regions, known_attributes=known_attributes)
    instance.set_options(direct=dict(raw))
    options = {name: plain(instance.get_option(name)) for name in defs}
    return build_settings(options, file_accounts=file_accounts, raw=raw)


_MINIMAL = {"role_name": "R", "accounts": ["111111111111"]}


def account_settings(**fields):
    """``AccountSettings`` with the documented defaults, ``fields`` replaced."""
    return dataclasses.replace(settings_from(_MINIMAL).accounts, **fields)


def scan_settings(**fields):
    """``ScanSettings`` with the documented defaults, ``fields`` replaced."""
    return dataclasses.replace(settings_from(_MINIMAL).scan, **fields)


def client_settings(**fields):
    """``ClientSettings`` with the documented defaults, ``fields`` replaced."""
    return dataclasses.replace(settings_from(_MINIMAL).client, **fields)


def aws_context(**fields):
    """An ``AwsContext`` made as the plugin makes it: the documented client defaults, ``fields`` replaced."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext

    memoise = fields.pop("memoise_clients", True)
    share = fields.pop("share_clients", True)
    return AwsContext(**dataclasses.asdict(client_settings(**fields)), memoise_clients=memoise, share_clients=share)
