"""Accounts from AWS Organizations, an accounts_file and the explicit list, through the real
ansible-inventory CLI against a stand-in holding an organization.

The organization lives in its own management account (a random id, so it never meets another
test's accounts: moto's backends are per process, shared by every stand-in of a worker):

    root ── prod ── prod-eu      prod: prod-app, retired (SUSPENDED)   prod-eu: prod-eu-app
         ├─ sandbox              sandbox: sandbox-1
         └─ shared (account), and the management account itself ("master")

plus two accounts outside the organization: one listed explicitly, one in the accounts file.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from urllib.parse import parse_qs

import pytest

from tests.support import cli
from tests.support.faults import Fault, FaultLayer
from tests.support.fleet import Planned, account_client, seed
from tests.support.stand_in import StandIn

REGIONS = ("us-east-1", "eu-west-1")


class OrgLayer:
    """WSGI layer that counts the role ARNs passed to AssumeRole and, when ``deny`` is set, answers
    every AWS Organizations call with AccessDeniedException (as AWS does when the lister role lost
    its permission); when ``no_accounts`` is set, answers ListAccounts with a well-formed page that
    lists no account (as a proxy or a cache in between could). moto has no fault injection, and
    tests/support/faults.py reads query-protocol actions only, while Organizations speaks JSON."""

    def __init__(self, app) -> None:
        self.app = app
        self.roles: Counter = Counter()
        self.deny = False
        self.no_accounts = False

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if self.no_accounts and target == "AWSOrganizationsV20161128.ListAccounts":
            body = json.dumps({"Accounts": []}).encode()
            start_response(
                "200 OK",
                [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("x-amzn-RequestId", "5c1a6a46-0f3e-4d8e-9a39-000000000001"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body]
        if self.deny and environ.get("HTTP_X_AMZ_TARGET", "").startswith("AWSOrganizations"):
            body = json.dumps({"__type": "AccessDeniedException", "message": "denied by the test layer"}).encode()
            start_response(
                "400 Bad Request",
                [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
            )
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = parse_qs(body.decode("utf-8", "replace"))
        if params.get("Action") == ["AssumeRole"]:
            self.roles[params["RoleArn"][0]] += 1
        return self.app(environ, start_response)


def _random_account(rng: random.Random) -> str:
    return str(rng.randrange(10**11, 10**12))


@pytest.fixture(scope="module")
def org_stand_in():
    holder = {}

    def middleware(app):
        holder["faults"] = FaultLayer(app)
        holder["roles"] = OrgLayer(holder["faults"])
        return holder["roles"]

    server = StandIn(middleware=middleware).start()
    server.faults, server.org_layer = holder["faults"], holder["roles"]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def org(org_stand_in):
    """The organization and its seeded instances: {'ids': {label: id}, 'ous': {...}, 'instances': [...]}."""
    rng = random.Random()
    endpoint = org_stand_in.endpoint
    mgmt = _random_account(rng)
    client = account_client(endpoint, "organizations", mgmt)
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]

    def ou(parent, name):
        return client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]

    ous = {"root": root}
    ous["prod"] = ou(root, "prod")
    ous["prod-eu"] = ou(ous["prod"], "prod-eu")
    ous["sandbox"] = ou(root, "sandbox")
    ids = {"master": mgmt}
    placement = {
        "prod-app": "prod",
        "retired": "prod",
        "prod-eu-app": "prod-eu",
        "sandbox-1": "sandbox",
        "shared": None,
    }
    for label, parent in placement.items():
        status = client.create_account(AccountName=label, Email=f"{label}@example.com")["CreateAccountStatus"]
        ids[label] = status["AccountId"]
        if parent:
            client.move_account(AccountId=ids[label], SourceParentId=root, DestinationParentId=ous[parent])
    client.close_account(AccountId=ids["retired"])
    ids["explicit"] = _random_account(rng)
    ids["filed"] = _random_account(rng)
    plan = [
        Planned(ids["master"], "us-east-1", "org-tools"),
        Planned(ids["prod-app"], "us-east-1", "prod-web"),
        Planned(ids["prod-app"], "us-east-1", "prod-web"),
        Planned(ids["prod-eu-app"], "eu-west-1", "prod-eu-db"),
        Planned(ids["prod-eu-app"], "us-east-1", "prod-eu-stray"),
        Planned(ids["sandbox-1"], "us-east-1", "sandbox-vm"),
        Planned(ids["shared"], "eu-west-1", "shared-dns"),
        Planned(ids["explicit"], "us-east-1", "explicit-host"),
        Planned(ids["filed"], "eu-west-1", "filed-host"),
    ]
    instances = seed(endpoint, plan)
    return {"ids": ids, "ous": ous, "instances": instances}


def _ids_of(org, *labels):
    return {i["instance_id"] for i in org["instances"] if i["account"] in {org["ids"][label] for label in labels}}


def _by_instance(result):
    out = {}
    for hv in result.hostvars.values():
        assert hv["instance_id"] not in out, f"{hv['instance_id']} listed twice"
        out[hv["instance_id"]] = hv
    return out


def test_file_organization_and_explicit_list_combined(org_stand_in, org, tmp_path):
    ids, ous = org["ids"], org["ous"]
    (tmp_path / "accounts.yml").write_text(
        f"""accounts:
  - id: "{ids["filed"]}"
    name: from-file
  - id: "{ids["prod-app"]}"
    name: prod-app-renamed
    regions: [us-east-1]
  - "{ids["shared"]}"
"""
    )
    inventory = tmp_path / "combined.ec2.yml"
    inventory.write_text(
        f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
accounts_file: accounts.yml
accounts:
  - id: "{ids["explicit"]}"
    name: explicit-one
  - id: "{ids["prod-eu-app"]}"
    name: prod-eu-explicit
    role_name: EuReader
    regions: [eu-west-1]
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
  exclude_ous: ["{ous["sandbox"]}"]
"""
    )
    org_stand_in.faults.reset()
    org_stand_in.org_layer.roles.clear()
    result = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "-v")
    assert result.rc == 0, result.stderr
    hosts = _by_instance(result)

    # ACTIVE accounts of the organization minus the sandbox OU, plus the file and the explicit
    # list; per-account regions of the explicit/file entries win over the global list
    expected = _ids_of(org, "master", "shared", "explicit", "filed")
    expected |= {i["instance_id"] for i in org["instances"] if i["name"] in ("prod-web", "prod-eu-db")}
    assert set(hosts) == expected
    assert not _ids_of(org, "retired", "sandbox-1") & set(hosts)

    names = {hv["account_id"]: hv.get("account_name") for hv in hosts.values()}
    assert names == {
        ids["master"]: "master",  # from Organizations
        ids["shared"]: "shared",  # bare id in the file: the Organizations name fills it
        ids["prod-app"]: "prod-app-renamed",  # the file's name wins
        ids["prod-eu-app"]: "prod-eu-explicit",  # the explicit name wins
        ids["explicit"]: "explicit-one",
        ids["filed"]: "from-file",
    }
    for hv in hosts.values():
        assert hv["region"] in REGIONS
        assert hv["crossaccount_stale"] is False

    # every account scanned once, with the explicit role where one is given
    assert org_stand_in.org_layer.roles == Counter(
        {
            f"arn:aws:iam::{ids['master']}:role/OrgReader": 1,
            f"arn:aws:iam::{ids['prod-eu-app']}:role/EuReader": 1,
            **{
                f"arn:aws:iam::{ids[label]}:role/CMDBDiscovery": 1
                for label in ("master", "prod-app", "shared", "explicit", "filed")
            },
        }
    )
    described = Counter(
        (account, region) for (action, account, region) in org_stand_in.faults.calls if action == "DescribeInstances"
    )
    assert described[(ids["prod-app"], "eu-west-1")] == 0 and described[(ids["prod-eu-app"], "us-east-1")] == 0
    assert all(
        count == 1 for (action, _, _), count in org_stand_in.faults.calls.items() if action == "DescribeInstances"
    ), "each account-region scanned once"

    # suspended and excluded accounts are said so at -v, and nothing failed
    assert f"organization account {ids['retired']} (retired) skipped: it is SUSPENDED" in result.stdout
    assert f"organization account {ids['sandbox-1']} (sandbox-1) skipped: in organization.exclude_ous" in result.stdout
    assert result.all_vars["crossaccount_errors"] == []


@pytest.mark.parametrize(
    ("include", "exclude", "exclude_accounts", "labels"),
    [
        # recursive: prod-eu is below prod; the suspended account of prod is skipped
        (["prod"], [], [], ("prod-app", "prod-eu-app")),
        # the root minus the prod subtree, minus one account by id
        (["root"], ["prod"], ["shared"], ("master", "sandbox-1")),
    ],
)
def test_ou_filters(org_stand_in, org, tmp_path, include, exclude, exclude_accounts, labels):
    ids, ous = org["ids"], org["ous"]
    inventory = tmp_path / "ous.ec2.yml"
    inventory.write_text(
        f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
  include_ous: {[ous[o] for o in include]}
  exclude_ous: {[ous[o] for o in exclude]}
  exclude_accounts: {[ids[a] for a in exclude_accounts]}
"""
    )
    result = cli.inventory(str(inventory), org_stand_in.endpoint)
    assert result.rc == 0, result.stderr
    hosts = _by_instance(result)
    assert set(hosts) == _ids_of(org, *labels)
    assert {hv["account_name"] for hv in hosts.values()} == set(labels)


def test_failed_discovery_is_reported_and_keeps_the_rest(org_stand_in, org, tmp_path):
    """Organizations denies every call: the explicit account is scanned anyway, the failure is in
    crossaccount_errors, and with the cache on the hosts of the accounts Organizations listed
    last time are kept, marked stale, each account named in crossaccount_errors."""
    ids, ous = org["ids"], org["ous"]
    inventory = tmp_path / "failing.ec2.yml"
    config = f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
accounts:
  - id: "{ids["explicit"]}"
    name: explicit-one
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
  include_ous: ["{ous["prod"]}"]
"""
    inventory.write_text(
        config + f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'c'}\n"
    )
    first = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--flush-cache")
    assert first.rc == 0, first.stderr
    assert set(_by_instance(first)) == _ids_of(org, "prod-app", "prod-eu-app", "explicit")

    org_stand_in.org_layer.deny = True
    try:
        second = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--flush-cache")
        uncached = tmp_path / "uncached.ec2.yml"
        uncached.write_text(config)
        third = cli.inventory(str(uncached), org_stand_in.endpoint)
    finally:
        org_stand_in.org_layer.deny = False

    assert second.rc == 0, second.stderr
    hosts = _by_instance(second)
    assert set(hosts) == _ids_of(org, "prod-app", "prod-eu-app", "explicit")
    for hv in hosts.values():
        assert hv["crossaccount_stale"] is (hv["account_id"] != ids["explicit"])
    errors = {e["account_id"]: e for e in second.all_vars["crossaccount_errors"]}
    assert set(errors) == {"organization", ids["prod-app"], ids["prod-eu-app"]}
    failure = errors["organization"]
    assert failure["code"] == "AccessDeniedException" and failure["region"] is None
    assert "ListAccountsForParent" in failure["message"] and "organization.role_arn" in failure["hint"]
    assert errors[ids["prod-app"]]["code"] == "OrganizationDiscoveryFailed"
    assert errors[ids["prod-app"]]["account_name"] == "prod-app"
    assert "account organization: AccessDeniedException" in second.stderr
    assert "kept" in second.stderr and "marked crossaccount_stale" in second.stderr

    # without a previous scan there is nothing to keep: only the explicit account, and the failure
    assert third.rc == 0, third.stderr
    assert set(_by_instance(third)) == _ids_of(org, "explicit")
    assert [e["account_id"] for e in third.all_vars["crossaccount_errors"]] == ["organization"]


def test_an_account_name_cannot_forge_a_line_of_output(org_stand_in, org, tmp_path):
    """An account's name is its administrator's to write: a newline and an escape sequence in it
    must not make the -v line that says why the account is skipped print a line of its own."""
    ids, ous = org["ids"], org["ous"]
    client = account_client(org_stand_in.endpoint, "organizations", ids["master"])
    forged = "[WARNING]: every account was scanned"
    name = f"gone\n{forged}\x1b[2J"
    status = client.create_account(AccountName=name, Email="gone@example.com")["CreateAccountStatus"]
    hostile = status["AccountId"]
    client.close_account(AccountId=hostile)  # skipped, and said so at -v, with its name
    inventory = tmp_path / "names.ec2.yml"
    inventory.write_text(
        f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
  include_ous: ["{ous["root"]}"]
"""
    )
    result = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "-v")
    assert result.rc == 0, result.stderr
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if f"organization account {hostile}" in line]
    assert len(lines) == 1, output
    assert f"({name.splitlines()[0]} {forged}" in lines[0] and "\x1b" not in lines[0], lines[0]
    assert not any(line.startswith(forged) for line in output.splitlines()), output


def test_an_account_name_that_is_not_text_does_not_fail_the_export(org_stand_in, tmp_path):
    """An Organizations answer is JSON, and JSON can carry a lone surrogate ("\\ud800"), which has no
    UTF-8 form: no AWS account name holds one, a proxy's answer can. One such name (of an account
    scanned, and of one that failed) must not make the whole CMDB export fail: each is written with
    U+FFFD in its place, and every other account is exported as usual."""
    endpoint = org_stand_in.endpoint
    mgmt = _random_account(random.Random())
    client = account_client(endpoint, "organizations", mgmt)
    client.create_organization(FeatureSet="ALL")
    scanned = client.create_account(AccountName="web\ud800apps", Email="w@example.com")["CreateAccountStatus"]
    denied = client.create_account(AccountName="den\udfffied", Email="d@example.com")["CreateAccountStatus"]
    scanned, denied = scanned["AccountId"], denied["AccountId"]
    instances = seed(endpoint, [Planned(mgmt, "us-east-1", "tools"), Planned(scanned, "us-east-1", "web")])
    inventory = tmp_path / "org.ec2.yml"
    inventory.write_text(
        f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [us-east-1]
organization:
  role_arn: arn:aws:iam::{mgmt}:role/OrgReader
"""
    )
    out = tmp_path / "out"
    out.mkdir()
    org_stand_in.faults.set_faults([Fault("AccessDenied", action="AssumeRole", account=denied, status=403)])
    try:
        proc = cli.export(str(inventory), endpoint, out)
    finally:
        org_stand_in.faults.reset()
    assert proc.rc == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader((out / "cmdb.csv").open(encoding="utf-8", newline="")))
    assert {r["instance_id"]: r["account_name"] for r in rows} == {
        i["instance_id"]: "master" if i["account"] == mgmt else "web\ufffdapps" for i in instances
    }
    document = json.loads((out / "cmdb.json").read_bytes().decode("utf-8"))
    assert {r["account_name"] for r in document["instances"]} == {"master", "web\ufffdapps"}
    assert [(e["account_id"], e["account_name"]) for e in document["errors"]] == [(denied, "den\ufffdied")]
    errors = list(csv.DictReader((out / "cmdb-errors.csv").open(encoding="utf-8", newline="")))
    assert [(e["account_id"], e["account_name"], e["code"]) for e in errors] == [
        (denied, "den\ufffdied", "AccessDenied")
    ]


def test_a_list_of_no_account_fails_discovery_and_keeps_the_export(org_stand_in, org, tmp_path):
    """ListAccounts always lists at least the management account. A well-formed answer listing no
    account (a proxy's) fails the discovery like any answer that is not AWS's; taken as an empty
    organization it emptied the inventory with no failure listed, and the nightly export replaced
    the good files with an empty export marked complete, exit 0."""
    ids = org["ids"]
    inventory = tmp_path / "whole.ec2.yml"
    inventory.write_text(
        f"""plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
regions: [{", ".join(REGIONS)}]
organization:
  role_arn: arn:aws:iam::{ids["master"]}:role/OrgReader
"""
    )
    out = tmp_path / "out"
    out.mkdir()

    def export():
        return cli.export(str(inventory), org_stand_in.endpoint, out)

    good = export()
    assert good.rc == 0, good.stdout + good.stderr
    files = {name: (out / name).read_bytes() for name in ("cmdb.csv", "cmdb.json", "cmdb-errors.csv")}
    assert json.loads(files["cmdb.json"])["counts"]["instances"] > 0
    org_stand_in.org_layer.no_accounts = True
    try:
        listed = cli.inventory(str(inventory), org_stand_in.endpoint, "--list", "--export")
        forged = export()
    finally:
        org_stand_in.org_layer.no_accounts = False
    assert listed.rc == 0, listed.stderr
    [failure] = listed.all_vars["crossaccount_errors"]
    assert (failure["account_id"], failure["code"]) == ("organization", "NotAnAwsResponse")
    assert "lists no account" in failure["message"]
    assert forged.rc != 0, forged.stdout
    assert "nothing was scanned successfully: 1 account(s)/region(s) failed" in forged.stdout
    assert {name: (out / name).read_bytes() for name in files} == files
