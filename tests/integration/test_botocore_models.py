"""The trimmed botocore models (module_utils/botocore_data.py) through the real ansible-inventory.

A run writes them under ANSIBLE_HOME on first use and reads them afterwards; a run that cannot
use them (ANSIBLE_HOME not writable, models of the user's own in AWS_DATA_PATH) uses botocore's
full models. The inventory is the same every way, SSM discovery (the trimmed SSM model) included.
"""

from __future__ import annotations

import os

import pytest

from tests.support import cli
from tests.support.inventories import example_inventory


def _listing(result) -> dict:
    assert result.rc == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return {host: {k: v for k, v in hv.items() if "scanned_at" not in k} for host, hv in result.hostvars.items()}


@pytest.fixture(scope="module")
def inventory_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "models.ec2.yml"
    path.write_text(
        example_inventory(
            "hostnames: [tag:Name, instance-id]\n"
            "ssm:\n  role_name: AnsibleSessionManager\n  bucket_name: example-ansible-ssm\n  discovery: true"
        )
    )
    return str(path)


def test_first_run_writes_the_trimmed_models_later_runs_and_full_models_list_the_same(
    stand_in, fleet, inventory_file, tmp_path
):
    home = tmp_path / "ansible-home"
    first = _listing(cli.inventory(inventory_file, stand_in.endpoint, "--list", extra_env={"ANSIBLE_HOME": str(home)}))
    written = os.listdir(home / "crossaccount.aws")
    assert len(written) == 1 and written[0].startswith("botocore-data-"), written
    models = home / "crossaccount.aws" / written[0]
    assert sorted(os.listdir(models)) == ["ec2", "endpoints-trimmed.json", "facts.json", "ssm"]
    assert oct(os.stat(home / "crossaccount.aws").st_mode & 0o777) == "0o700"
    again = _listing(cli.inventory(inventory_file, stand_in.endpoint, "--list", extra_env={"ANSIBLE_HOME": str(home)}))

    unusable = tmp_path / "not-a-directory"
    unusable.write_text("")
    full = _listing(
        cli.inventory(inventory_file, stand_in.endpoint, "--list", extra_env={"ANSIBLE_HOME": str(unusable)})
    )
    assert not os.path.exists(str(unusable) + "/crossaccount.aws")

    assert len(first) == len(fleet)
    assert first == again == full
    assert any("ssm_ping_status" in hv for hv in first.values())  # the SSM answers were read
