"""Playbooks over SSM Session Manager across accounts, through the real ansible-playbook.

The stand-in answers StartSession/TerminateSession (tests/support/session_manager.py) and records
each session with the account and role of the credentials that signed it; the fake
session-manager-plugin (tests/support/fake_session_manager_plugin.py) opens the session's data
channel and runs a local shell as the instance; files travel through the moto S3 bucket with
aws_ssm's presigned URLs and curl.

* A play over the hosts of three accounts runs ``command`` and ``copy`` on each; every session was
  started with the session role of the host's own account in the host's region; each session
  role was assumed once for the whole run, whatever the number of hosts and tasks.
* A session role denied in one account makes those hosts unreachable (account and role in the
  message); the other hosts complete. The --limit of the issue selects the hosts.
* No secret (the stand-in's keys, tokens and session tokens, the controller's source keys) appears
  in --list, --host, --export, the cache files, the -vvvv output of the play or the CMDB export.
* SSM discovery: ssm_ping_status, crossaccount_ssm_online and group ssm_online, one
  DescribeInstanceInformation per account-region, a failing one isolated.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.support import cli
from tests.support.fleet import account_client
from tests.support.stand_in import aws_env

PLUGIN = str(Path(__file__).resolve().parents[1] / "support" / "fake_session_manager_plugin.py")
BUCKET = "example-ansible-ssm"
SESSION_ROLE = "AnsibleSessionManager"
ACCOUNTS = ("222222222222", "333333333333", "444444444444")

INVENTORY = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["222222222222", "333333333333", "444444444444"]
regions: [us-east-1, eu-west-1]
ssm:
  role_name: AnsibleSessionManager
  bucket_name: example-ansible-ssm
  discovery: true
{extra}"""

PLAYBOOK = """
- name: Reach every online instance over Session Manager
  hosts: ssm_online
  gather_facts: false
  tasks:
    - name: Which instance answers
      ansible.builtin.command: printenv CROSSACCOUNT_SSM_INSTANCE CROSSACCOUNT_SSM_ACCOUNT CROSSACCOUNT_SSM_REGION
      register: who
      changed_when: false
    - name: The instance is this host, in this host's account and region
      ansible.builtin.assert:
        that:
          - who.stdout_lines == [instance_id, account_id, region]
    - name: A file through the S3 bucket
      ansible.builtin.copy:
        content: "payload for {{ inventory_hostname }} in {{ account_id }}\\n"
        dest: "~/copied.txt"
        mode: "0600"
"""

EXPORT = """
- name: The CMDB export of the same inventory
  ansible.builtin.import_playbook: crossaccount.aws.cmdb_export
"""


def _env(tmp_path: Path) -> dict:
    return {
        "AWS_SESSION_MANAGER_PLUGIN": PLUGIN,
        "CROSSACCOUNT_FAKE_SSM_ROOT": str(tmp_path / "instances"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
    }


def _playbook(inventory: Path, playbook: Path, endpoint: str, tmp_path: Path, *args: str) -> cli.Result:
    return cli.run(
        [os.path.join(cli.BIN, "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        endpoint,
        extra_env=_env(tmp_path),
        timeout=600,
    )


def _recap(stdout: str) -> dict[str, dict[str, int]]:
    out = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, flags=re.M):
        out[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return out


@pytest.fixture(scope="module")
def bucket(stand_in, fleet):
    s3 = account_client(stand_in.endpoint, "s3", "111111111111")
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    return s3


@pytest.fixture(scope="module")
def play(stand_in, fleet, bucket, tmp_path_factory):
    """One ansible-playbook run at -vvvv (the play over three accounts, then the CMDB export) with
    the jsonfile cache on, and the inventory views of the same file afterwards."""
    base = tmp_path_factory.mktemp("ssm")
    cache = base / "cache"
    inventory = base / "cmdb.ec2.yml"
    cache_options = f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache}\n"
    inventory.write_text(INVENTORY.format(extra=cache_options + "cache_timeout: 3600\n"))
    playbook = base / "site.yml"
    playbook.write_text(PLAYBOOK + EXPORT)
    (base / "out").mkdir()
    layer = stand_in.ssm
    layer.reset()
    stand_in.faults.reset()
    secrets_before = set(layer.secrets_seen) | set(stand_in.faults.secrets_seen)
    played = _playbook(inventory, playbook, stand_in.endpoint, base, "-vvvv", "-e", f"cmdb_export_dir={base / 'out'}")
    listed = cli.inventory(str(inventory), stand_in.endpoint, "--list", extra_env=_env(base))
    exported = cli.inventory(str(inventory), stand_in.endpoint, "--list", "--export", extra_env=_env(base))
    first = next(iter(listed.hostvars)) if listed.rc == 0 else "none"
    host = cli.inventory(str(inventory), stand_in.endpoint, "--host", first, extra_env=_env(base))
    result = {
        "base": base,
        "played": played,
        "listed": listed,
        "exported": exported,
        "host": host,
        "cache": cache,
        "sessions": list(layer.sessions.values()),
        "assume_calls": dict(layer.assume_calls),
        "describe_calls": dict(layer.describe_calls),
        "secrets": (set(layer.secrets_seen) | set(stand_in.faults.secrets_seen)) - secrets_before,
    }
    layer.reset()
    return result


def test_the_play_completes_on_every_host_of_three_accounts(play, fleet):
    played = play["played"]
    assert played.rc == 0, played.stdout[-3000:] + played.stderr[-3000:]
    expected = {
        f["instance_id"]: f
        for f in fleet
        if f["account"] in ACCOUNTS and f["region"] in ("us-east-1", "eu-west-1") and f["state"] == "running"
    }
    assert {f["account"] for f in expected.values()} == set(ACCOUNTS)
    recap = _recap(played.stdout)
    for iid in expected:
        assert recap[iid]["unreachable"] == 0 and recap[iid]["failed"] == 0, (iid, recap[iid])
        assert recap[iid]["ok"] >= 3
        # copy wrote the file on "the instance" (its home), through the S3 bucket
        copied = play["base"] / "instances" / iid / "copied.txt"
        assert copied.read_text() == f"payload for {iid} in {expected[iid]['account']}\n"
    stopped = [f["instance_id"] for f in fleet if f["state"] == "stopped" and f["account"] in ACCOUNTS]
    assert stopped and not set(stopped) & set(recap), "stopped instances are not in ssm_online"


def test_every_session_used_the_role_of_the_host_account_in_its_region(play, fleet):
    by_id = {f["instance_id"]: f for f in fleet}
    sessions = play["sessions"]
    targets = {s.target for s in sessions}
    assert len(targets) >= 7
    for session in sessions:
        host = by_id[session.target]
        assert (session.account, session.region) == (host["account"], host["region"]), session
        assert session.role == SESSION_ROLE, session
        assert session.channel_opened == 1, "the plugin opened the session's data channel with its token"
        assert session.terminated, "every session was terminated (TerminateSession)"
    # command and copy connect once each per host (a worker per task per host)
    for target in targets:
        assert sum(1 for s in sessions if s.target == target) == 2


def test_each_session_role_is_assumed_once_per_run(play):
    calls = play["assume_calls"]
    session_roles = {arn: n for arn, n in calls.items() if arn.endswith(f":role/{SESSION_ROLE}")}
    assert session_roles == {f"arn:aws:iam::{a}:role/{SESSION_ROLE}": 1 for a in ACCOUNTS}, calls
    # while the play opened 2 sessions on each of at least 7 hosts
    assert len(play["sessions"]) >= 14


def test_files_left_nothing_in_the_bucket(play, bucket):
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_no_secret_anywhere(play):
    source = aws_env("http://127.0.0.1:1")
    secrets = play["secrets"] | {source["AWS_ACCESS_KEY_ID"], source["AWS_SECRET_ACCESS_KEY"]}
    # the run handed out session-role keys (3 accounts x key, secret, token) and stream tokens
    assert len(play["secrets"]) >= 9 + len(play["sessions"])
    cache_files = [p for p in Path(play["cache"]).rglob("*") if p.is_file()]
    export_files = [p for p in (play["base"] / "out").rglob("*") if p.is_file()]
    assert cache_files and export_files
    places = {
        "playbook -vvvv output": play["played"].stdout + play["played"].stderr,
        "--list": play["listed"].stdout + play["listed"].stderr,
        "--export": play["exported"].stdout,
        "--host": play["host"].stdout,
        **{f"cache file {p.name}": p.read_text() for p in cache_files},
        **{f"export file {p.name}": p.read_text() for p in export_files},
    }
    assert "ESTABLISH SSM CONNECTION" in places["playbook -vvvv output"], "the play ran at -vvvv"
    assert "X-Amz-Credential=[redacted]" in places["playbook -vvvv output"], "presigned URLs were printed, redacted"
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a credential leaked into the {where}"
            assert secret[:16] not in text, f"part of a credential leaked into the {where}"


def test_no_secret_is_left_on_the_instances(play):
    """File transfers send presigned URLs (the session role's access key id and session token) to
    the instance's shell as curl's command line: the shell must not keep them in its history file."""
    secrets = play["secrets"]
    instance_files = [p for p in (play["base"] / "instances").rglob("*") if p.is_file()]
    assert instance_files, "the play wrote files on the instances"
    for path in instance_files:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret[:16] not in text, f"a credential was left on the instance in {path.name}"


def test_inventory_sets_only_non_secret_connection_variables(play):
    hostvars = play["listed"].hostvars
    for host, hv in hostvars.items():
        assert hv["ansible_connection"] == "crossaccount.aws.aws_ssm"
        assert hv["ansible_aws_ssm_instance_id"] == hv["instance_id"] == host
        assert hv["ansible_aws_ssm_region"] == hv["region"]
        assert hv["ansible_aws_ssm_bucket_name"] == BUCKET
        assert hv["crossaccount_ssm_role_arn"] == f"arn:aws:iam::{hv['account_id']}:role/{SESSION_ROLE}"
        ours = [k for k in hv if k.startswith(("ansible_aws_", "crossaccount_ssm", "aws_"))]
        assert not [k for k in ours if re.search(r"(?i)secret|token|access_key|profile", k)], ours


def test_discovery_marks_online_hosts_once_per_account_region(play, fleet):
    data = play["listed"].data
    hostvars = play["listed"].hostvars
    online = set(data["ssm_online"]["hosts"])
    for host, hv in hostvars.items():
        running = hv["state"]["name"] == "running"
        assert hv["ssm_ping_status"] == ("Online" if running else "NotManaged")
        assert hv["crossaccount_ssm_online"] is running
        assert (host in online) is running
    # the playbook run scanned once (the later views came from the cache): one call per account-region
    assert set(play["describe_calls"].values()) == {1}
    assert set(play["describe_calls"]) == {
        (a, r) for a, r in {(hv["account_id"], hv["region"]) for hv in hostvars.values()}
    }


def test_denied_session_roles_fail_only_their_accounts(stand_in, fleet, bucket, tmp_path):
    """The issue's --limit. In 333333333333 the session role may not StartSession; in 444444444444
    it cannot be assumed at all. Those hosts are unreachable, named with account and role; the
    hosts of 222222222222 complete."""
    inventory = tmp_path / "cmdb.ec2.yml"
    inventory.write_text(INVENTORY.format(extra=""))
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)
    layer = stand_in.ssm
    layer.reset()
    layer.deny_start.add(("333333333333", SESSION_ROLE))
    layer.deny_assume.add(f"arn:aws:iam::444444444444:role/{SESSION_ROLE}")
    try:
        played = _playbook(
            inventory,
            playbook,
            stand_in.endpoint,
            tmp_path,
            "--limit",
            "account_222222222222:account_333333333333:account_444444444444:&region_eu_west_1",
        )
        denied = list(layer.denied)
        started = [s.account for s in layer.sessions.values()]
    finally:
        layer.reset()
    by_id = {f["instance_id"]: f for f in fleet}
    recap = _recap(played.stdout)
    assert played.rc != 0
    hosts = {h: by_id[h] for h in recap}
    assert {(h["account"], h["region"]) for h in hosts.values()} == {
        ("222222222222", "eu-west-1"),
        ("333333333333", "eu-west-1"),
        ("444444444444", "eu-west-1"),
    }
    for iid, host in hosts.items():
        if host["account"] == "222222222222":
            assert recap[iid]["unreachable"] == 0 and recap[iid]["failed"] == 0 and recap[iid]["ok"] >= 3, recap
        else:
            assert recap[iid]["unreachable"] == 1 and recap[iid]["ok"] == 0, recap
    unreachable = [line for line in played.stdout.splitlines() if "UNREACHABLE" in line]
    assert len(unreachable) == 2, played.stdout[-3000:]
    for account, error in (("333333333333", "AccessDeniedException"), ("444444444444", "AssumeRole: AccessDenied")):
        (line,) = [line for line in unreachable if f"account {account}" in line]
        assert f"arn:aws:iam::{account}:role/{SESSION_ROLE}" in line and error in line, line
    # one StartSession for the denied host (a denial is not retried with pauses), none in 444444444444
    assert len(denied) == 1 and "444444444444" not in started
    assert set(started) == {"222222222222"}


def test_discovery_failure_is_isolated_and_reported(stand_in, fleet, faults, tmp_path):
    """DescribeInstanceInformation denied in one account-region: one warning and one
    crossaccount_errors entry; its hosts stay (without a ping status); elsewhere one call each."""
    inventory = tmp_path / "cmdb.ec2.yml"
    inventory.write_text(INVENTORY.format(extra=""))
    layer = stand_in.ssm
    layer.reset()
    lost = next(
        f["instance_id"]
        for f in fleet
        if (f["account"], f["region"], f["state"]) == ("222222222222", "us-east-1", "running")
    )
    layer.ping_status[lost] = "ConnectionLost"
    layer.describe_failures.add(("444444444444", "us-east-1"))
    try:
        listed = cli.inventory(str(inventory), stand_in.endpoint, "--list", extra_env=_env(tmp_path))
        calls = dict(layer.describe_calls)
    finally:
        layer.reset()
    assert listed.rc == 0, listed.stderr
    hostvars = listed.hostvars
    expected = {
        f["instance_id"] for f in fleet if f["account"] in ACCOUNTS and f["region"] in ("us-east-1", "eu-west-1")
    }
    assert set(hostvars) == expected, "no host lost to the failed discovery"
    errors = listed.all_vars["crossaccount_errors"]
    assert [(e["account_id"], e["region"], e["code"]) for e in errors] == [
        ("444444444444", "us-east-1", "AccessDeniedException")
    ]
    assert "DescribeInstanceInformation" in errors[0]["message"]
    assert listed.stderr.count("AccessDeniedException") == 1
    online = set(listed.data["ssm_online"]["hosts"])
    for host, hv in hostvars.items():
        if (hv["account_id"], hv["region"]) == ("444444444444", "us-east-1"):
            assert "ssm_ping_status" not in hv and "crossaccount_ssm_online" not in hv and host not in online
        elif host == lost:
            assert hv["ssm_ping_status"] == "ConnectionLost" and host not in online
        elif hv["state"]["name"] == "running":
            assert hv["ssm_ping_status"] == "Online" and host in online
    assert set(calls.values()) == {1}


def test_hostvars_prefix_leaves_the_ssm_variables_their_names(stand_in, fleet, tmp_path):
    """ssm_ping_status comes from DescribeInstanceInformation, not DescribeInstances: like
    crossaccount_ssm_online it keeps its documented name when hostvars_prefix/suffix rename the
    instance attributes."""
    inventory = tmp_path / "cmdb.ec2.yml"
    inventory.write_text(INVENTORY.format(extra="hostvars_prefix: aws_\nhostvars_suffix: _x\n"))
    stand_in.ssm.reset()
    listed = cli.inventory(str(inventory), stand_in.endpoint, "--list", extra_env=_env(tmp_path))
    assert listed.rc == 0, listed.stderr
    running = [hv for hv in listed.hostvars.values() if hv["aws_state_x"]["name"] == "running"]
    assert running
    for hv in running:
        assert hv["ssm_ping_status"] == "Online" and hv["crossaccount_ssm_online"] is True, sorted(hv)
        assert not any("ssm_ping_status" in k and k != "ssm_ping_status" for k in hv), sorted(hv)


def test_a_bad_ssm_option_is_one_line(stand_in, tmp_path):
    inventory = tmp_path / "bad.ec2.yml"
    inventory.write_text(INVENTORY.format(extra="").replace("bucket_name: example-ansible-ssm", "bucket: x"))
    listed = cli.inventory(
        str(inventory), stand_in.endpoint, "--list", extra_env={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"}
    )
    assert listed.rc != 0
    lines = [line for line in listed.stderr.splitlines() if "ssm.bucket" in line]
    assert len(lines) == 1 and "did you mean" in lines[0], listed.stderr


def test_a_transfer_that_times_out_names_no_credential(stand_in, fleet, bucket, tmp_path):
    """amazon.aws.aws_ssm's timeout message quotes the command it waited for: for a file transfer,
    curl with a presigned URL (the session role's access key id and session token). The host is
    unreachable with that message at any verbosity: it must be redacted like the -vvvv lines."""
    inventory = tmp_path / "cmdb.ec2.yml"
    inventory.write_text(INVENTORY.format(extra=""))
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        """
- name: A file through the S3 bucket, with a curl that hangs
  hosts: ssm_online
  gather_facts: false
  vars:
    ansible_aws_ssm_timeout: 3
    ansible_aws_ssm_retries: 0
  tasks:
    - name: Copy
      ansible.builtin.copy:
        content: "payload\\n"
        dest: "~/copied.txt"
        mode: "0600"
"""
    )
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "curl").write_text("#!/bin/sh\nsleep 20\n")
    (slow / "curl").chmod(0o755)
    layer = stand_in.ssm
    layer.reset()
    stand_in.faults.reset()
    secrets_before = set(layer.secrets_seen)
    env = {"PATH": f"{slow}{os.pathsep}{cli.BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        played = cli.run(
            [os.path.join(cli.BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)]
            + ["--limit", "account_222222222222:&region_eu_west_1"],
            stand_in.endpoint,
            extra_env={**_env(tmp_path), **env},
            timeout=600,
        )
        secrets = set(layer.secrets_seen) - secrets_before
    finally:
        layer.reset()
    output = played.stdout + played.stderr
    assert played.rc != 0 and "timeout" in output, output[-3000:]
    assert secrets, "session-role keys were handed out"
    for secret in secrets:
        assert secret[:16] not in output, "a credential leaked into the task's failure message"
    assert "X-Amz-Credential=[redacted]" in output and "timeout on host" in output, output[-3000:]
