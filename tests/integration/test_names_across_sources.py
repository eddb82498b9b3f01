"""Host names across inventory files and groups the files fix, through the real CLIs and moto.

One inventory directory with a file per business unit is a supported layout: a tag writer in the
sandbox account, whose file sorts first, must not take a name from a prod host (the same contest
decides as within one file: names AWS gives first, then the longest-running instance). A group a
file fixes (a `groups:` key, a `keyed_groups` prefix) keeps meaning that group on a night when it
is empty because its account failed."""

from __future__ import annotations

import os
import time

from tests.support import cli
from tests.support.faults import Fault
from tests.support.fleet import Planned, seed

PLAY = """- name: Targets only
  hosts: all
  gather_facts: false
  tasks: []
"""

ONE = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: {accounts}
regions: [us-east-1]
hostnames: [{hostnames}]
max_attempts: 1
{extra}"""


def _targets(stand_in, sources, play, limit):
    result = cli.run(
        [os.path.join(cli.BIN, "ansible-playbook"), *sources, str(play), "--list-hosts", "--limit", limit],
        stand_in.endpoint,
    )
    if result.rc == 1 and "leaves us with no hosts to target" in result.stderr:
        return []
    assert result.rc == 0, result.stderr
    out = result.stdout.split("hosts (", 1)[1].splitlines()[1:]
    return sorted(line.strip() for line in out if line.strip())


def _directory(tmp_path, sandbox, prod):
    inv = tmp_path / "inventory"
    inv.mkdir()
    (inv / "10-sandbox.ec2.yml").write_text(sandbox)
    (inv / "20-prod.ec2.yml").write_text(prod)
    return inv


def test_a_sandbox_tag_never_takes_the_name_of_a_prod_host_of_a_later_file(stand_in, tmp_path):
    prod_acct, sandbox_acct = "650000000001", "650000000002"
    [prod] = seed(stand_in.endpoint, [Planned(prod_acct, "us-east-1", "web01", {})])
    time.sleep(1.1)  # the sandbox instance is launched later (moto sets LaunchTime at creation)
    [sandbox] = seed(stand_in.endpoint, [Planned(sandbox_acct, "us-east-1", "web01", {})])
    either = ONE.format(accounts="[{}]", hostnames="tag:Name, instance-id", extra="")
    inv = _directory(tmp_path, either.replace("{}", f'"{sandbox_acct}"'), either.replace("{}", f'"{prod_acct}"'))
    listed = cli.inventory(str(inv), stand_in.endpoint, "--list")
    assert listed.rc == 0, listed.stderr
    names = {hv["instance_id"]: h for h, hv in listed.hostvars.items()}
    assert names == {prod["instance_id"]: "web01", sandbox["instance_id"]: f"web01_{sandbox['instance_id']}"}
    assert " ".join(listed.stderr.split()).count("hostname 'web01' given by an earlier source goes to instance") == 1
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    assert _targets(stand_in, ["-i", str(inv)], play, "web01") == ["web01"]
    assert listed.hostvars["web01"]["account_id"] == prod_acct


def test_a_sandbox_tag_never_takes_the_name_aws_gives_a_prod_host_of_a_later_file(stand_in, tmp_path):
    prod_acct, sandbox_acct = "650000000011", "650000000012"
    [prod] = seed(stand_in.endpoint, [Planned(prod_acct, "us-east-1", "web01", {})])
    dns = "ip-" + prod["private_ip_address"].replace(".", "-") + ".ec2.internal"
    [sandbox] = seed(stand_in.endpoint, [Planned(sandbox_acct, "us-east-1", dns, {})])
    inv = _directory(
        tmp_path,
        ONE.format(accounts=f'["{sandbox_acct}"]', hostnames="tag:Name, instance-id", extra=""),
        ONE.format(accounts=f'["{prod_acct}"]', hostnames="private-dns-name", extra=""),
    )
    listed = cli.inventory(str(inv), stand_in.endpoint, "--list")
    assert listed.rc == 0, listed.stderr
    assert listed.hostvars[dns]["account_id"] == prod_acct
    assert listed.hostvars[sandbox["instance_id"]]["account_id"] == sandbox_acct


def test_a_tag_never_names_a_host_like_a_group_the_file_fixes_that_is_empty_this_run(stand_in, faults, tmp_path):
    prod_acct, sandbox_acct = "660000000001", "660000000002"
    seed(stand_in.endpoint, [Planned(prod_acct, "us-east-1", "db1", {"Tier": "critical", "Environment": "prod"})])
    seed(
        stand_in.endpoint,
        [Planned(sandbox_acct, "us-east-1", name, {}) for name in ("critical", "env_prod", "env_staging")],
    )
    extra = """keyed_groups:
  - key: ec2_tags.Environment
    prefix: env
groups:
  critical: ec2_tags.Tier | default('') == 'critical'
"""
    path = tmp_path / "bu.ec2.yml"
    path.write_text(
        ONE.format(accounts=f'["{prod_acct}", "{sandbox_acct}"]', hostnames="tag:Name, instance-id", extra=extra)
    )
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    sources = ["-i", str(path)]
    assert _targets(stand_in, sources, play, "critical") == ["db1"]  # the control: prod scanned
    faults.set_faults([Fault(code="AccessDenied", action="AssumeRole", account=prod_acct, status=403)])
    for limit in ("critical", "env_prod", "env_*"):
        assert _targets(stand_in, sources, play, limit) == [], f"--limit {limit} reached the sandbox"
    listed = cli.inventory(str(path), stand_in.endpoint, "--list")
    named = sorted(hv["ec2_tags"]["Name"] for h, hv in listed.hostvars.items() if h == hv["instance_id"])
    assert named == ["critical", "env_prod", "env_staging"], "each is named by its instance id"
