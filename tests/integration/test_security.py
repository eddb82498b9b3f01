"""Security through the real CLIs: credentials never leak, secret keys in the file are refused,
EC2 data is never templated.

One module fixture runs the inventory three ways against the seeded stand-in (a scan at -vvvv with
the jsonfile cache and a log file, a run served from that cache, and an ansible-playbook run) and
every test reads those results. The secrets searched for are the real ones: the source keys of
the environment and every AccessKeyId/SecretAccessKey/SessionToken the moto server handed out,
as recorded by the fault layer when the AssumeRole answers passed through it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import EVIL_TAG, Planned, seed
from tests.support.inventories import example_inventory
from tests.support.stand_in import aws_env

# an account only this module uses, so the extra instance is invisible to the other tests
UNTRUSTED_ACCOUNT = "909090909090"

EXTRA = """hostnames: [tag:Name, instance-id]
compose:
  notes_copy: ec2_tags.Notes | default('')
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache}
cache_timeout: 3600
"""

PLAYBOOK = """
- name: EC2 tags are data, never templates
  hosts: name_db:name_untrusted
  connection: local
  gather_facts: false
  vars:
    evil_text: !unsafe "{{ lookup('pipe', 'id') }}"
  tasks:
    - name: Print the tag
      ansible.builtin.debug:
        msg: "NOTES=[{{ ec2_tags.Notes }}]"
    - name: The tag and its composed copy are the text AWS returned
      ansible.builtin.assert:
        that:
          - ec2_tags.Notes is string
          - notes_copy == ec2_tags.Notes
          - "'uid=' not in ec2_tags.Notes"
          - "'lookup(' in ec2_tags.Notes"
    - name: The db instance holds exactly the seeded text
      ansible.builtin.assert:
        that: ec2_tags.Notes == evil_text
      when: inventory_hostname in groups['name_db']

- name: The same through hostvars on the controller
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Print the db tag from hostvars
      ansible.builtin.debug:
        msg: "HOSTVARS=[{{ hostvars[groups['name_db'][0]].ec2_tags.Notes }}]"
"""


@pytest.fixture(scope="module")
def runs(stand_in, fleet, tmp_path_factory):
    base = tmp_path_factory.mktemp("security")
    marker = base / "templated-marker"
    # a second hostile tag: if anything ever templated it, the marker file would appear
    hostile = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    seed(stand_in.endpoint, [Planned(UNTRUSTED_ACCOUNT, "us-east-1", "untrusted", {"Notes": hostile})])

    cache = base / "cache"
    log = base / "ansible.log"
    inventory = base / "security.ec2.yml"
    inventory.write_text(example_inventory(EXTRA.format(cache=cache), more_accounts=(UNTRUSTED_ACCOUNT,)))
    playbook = base / "untrusted.yml"
    playbook.write_text(PLAYBOOK)

    layer = stand_in.faults
    layer.reset()
    before = set(layer.secrets_seen)
    # an error message that carries the caller's access key id, as some AWS errors do
    layer.set_faults(
        [
            Fault(
                code="AuthFailure",
                action="DescribeInstances",
                account="333333333333",
                region="ap-southeast-2",
                message="AWS was not able to validate the provided access credentials (AKIAIOSFODNN7EXAMPLE)",
            )
        ]
    )
    env = {"ANSIBLE_LOG_PATH": str(log)}
    try:
        scanned = cli.inventory(str(inventory), stand_in.endpoint, "--list", "-vvvv", extra_env=env)
        calls_after_scan = sum(layer.calls.values())
        cached = cli.inventory(str(inventory), stand_in.endpoint, "--list", extra_env=env)
        calls_after_cache = sum(layer.calls.values())
        played = cli.run(
            [os.path.join(cli.BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)],
            stand_in.endpoint,
            extra_env=env,
        )
    finally:
        layer.reset()
    handed_out = set(layer.secrets_seen) - before
    return {
        "scanned": scanned,
        "cached": cached,
        "played": played,
        "cache_dir": cache,
        "log": log,
        "marker": marker,
        "handed_out": handed_out,
        "served_from_cache": calls_after_cache == calls_after_scan,
    }


def _source_secrets() -> set[str]:
    env = aws_env("http://127.0.0.1:1")
    return {env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]}


def test_runs_worked(runs):
    assert runs["scanned"].rc == 0, runs["scanned"].stderr
    assert runs["cached"].rc == 0, runs["cached"].stderr
    assert runs["served_from_cache"], "the second run must come from the cache files checked below"
    assert "Traceback" not in runs["scanned"].stderr + runs["cached"].stderr


def test_no_credential_in_output_cache_or_log(runs):
    secrets = runs["handed_out"] | _source_secrets()
    # the run really assumed roles: an AccessKeyId, a SecretAccessKey and a SessionToken per account
    assert len(runs["handed_out"]) >= 3 * 5, runs["handed_out"]
    cache_files = [p for p in Path(runs["cache_dir"]).rglob("*") if p.is_file()]
    assert cache_files, "the jsonfile cache was written"
    places = {
        "--list stdout": runs["scanned"].stdout,
        "-vvvv stderr": runs["scanned"].stderr,  # ansible prints its -vvvv lines on stdout, before the JSON
        "cached --list": runs["cached"].stdout + runs["cached"].stderr,
        "playbook output": runs["played"].stdout + runs["played"].stderr,
        "ansible log": runs["log"].read_text(),
        **{f"cache file {p.name}": p.read_text() for p in cache_files},
    }
    assert len(places["ansible log"]) > 1000 and len(places["-vvvv stderr"] + places["--list stdout"]) > 1000
    for where, text in places.items():
        for secret in secrets:
            # the whole value, and its first 16 characters in case something truncates
            assert secret not in text, f"a credential leaked into the {where}"
            assert secret[:16] not in text, f"part of a credential leaked into the {where}"


def test_the_failure_is_reported_with_the_key_id_scrubbed(runs):
    errors = runs["scanned"].all_vars["crossaccount_errors"]
    failed = [e for e in errors if e["account_id"] == "333333333333" and e["region"] == "ap-southeast-2"]
    assert len(failed) == 1 and failed[0]["code"] == "AuthFailure", errors
    assert "[redacted]" in failed[0]["message"]
    assert "AKIAIOSFODNN7EXAMPLE" not in runs["scanned"].stderr


@pytest.mark.parametrize("run", ["scanned", "cached"])
def test_tags_stay_untrusted_in_list_output(runs, fleet, run):
    result = runs[run]
    raw = result.raw["_meta"]["hostvars"]
    for host in ("db", "untrusted"):
        notes = raw[host]["ec2_tags"]["Notes"]
        assert cli.is_unsafe(notes), f"{host} Notes must be marked unsafe in the {run} run"
        assert cli.is_unsafe(raw[host]["notes_copy"]), "a composed copy of a tag stays unsafe"
        assert result.hostvars[host]["notes_copy"] == result.hostvars[host]["ec2_tags"]["Notes"]
    assert result.hostvars["db"]["ec2_tags"]["Notes"] == EVIL_TAG
    assert result.hostvars["untrusted"]["ec2_tags"]["Notes"].startswith("{{ lookup('pipe', 'touch ")
    assert "uid=" not in result.stdout
    assert not runs["marker"].exists()


def test_tags_stay_untrusted_in_a_playbook(runs):
    played = runs["played"]
    assert played.rc == 0, played.stdout + played.stderr
    out = played.stdout
    assert f"NOTES=[{EVIL_TAG}]" in out
    assert f"HOSTVARS=[{EVIL_TAG}]" in out
    assert "NOTES=[{{ lookup('pipe', 'touch " in out
    assert "uid=" not in out
    assert "failed=0" in out and "ok=" in out
    assert out.count("All assertions passed") == 3, "two asserts on untrusted, one on db"
    assert not runs["marker"].exists(), "the hostile tag was templated: the marker file exists"


def test_secret_keys_in_the_inventory_file_are_refused(stand_in, faults, tmp_path):
    key_id = "AKIAZZZZEXAMPLEZZZZZ"
    secret = "ZzZzSecretValueThatMustNeverBePrinted0000"
    path = tmp_path / "secret.ec2.yml"
    path.write_text(
        f"aws_access_key_id: {key_id}\naws_secret_access_key: {secret}\n"
        'plugin: crossaccount.aws.ec2\nrole_name: CMDBDiscovery\naccounts: ["111111111111"]\n'
    )
    result = cli.inventory(
        str(path), stand_in.endpoint, "--list", "-vvvv", extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    )
    output = result.stdout + result.stderr
    assert result.rc != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "secret keys are not accepted in an inventory file" in line]
    assert len(lines) == 1, output
    assert "aws_access_key_id: secret keys are not accepted" in lines[0]
    assert "profile" in lines[0] and "instance role" in lines[0] and "SSO" in lines[0]
    assert secret not in output and secret[:12] not in output
    assert key_id not in output
    assert sum(faults.calls.values()) == 0, "no AWS call with a refused file"
