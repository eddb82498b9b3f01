"""`make demo`: build and install the collection, start a local AWS stand-in (moto on a loopback
port), seed Example Corp's fleet in four accounts, and run the plugin through ansible-inventory.
Then a playbook reaches the instances of all four accounts over SSM Session Manager (the stand-in
answers StartSession; a fake session-manager-plugin plays the instances), each session with the
session role of the instance's own account.

Example Corp: payer 111111111111, development 222222222222, testing 333333333333, production
444444444444; instances in several regions, Name tags, some Names shared.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.support.cli import ansible_env, unwrap  # noqa: E402
from tests.support.faults import FaultLayer  # noqa: E402
from tests.support.fleet import ACCOUNTS, account_client, example_corp, seed  # noqa: E402
from tests.support.session_manager import SessionManagerLayer  # noqa: E402
from tests.support.stand_in import StandIn  # noqa: E402

BIN = os.path.dirname(sys.executable)
INVENTORY = os.path.join(ROOT, "examples", "demo.ec2.yml")
SSM_INVENTORY = os.path.join(ROOT, "examples", "demo-ssm.ec2.yml")
PLAYBOOK = os.path.join(ROOT, "demo", "site.yml")
FAKE_PLUGIN = os.path.join(ROOT, "tests", "support", "fake_session_manager_plugin.py")
AMAZON_AWS = os.path.join(ROOT, ".tmp", "collections", "ansible_collections", "amazon", "aws")


def banner(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 76 - len(text)), flush=True)


def install_collection(work: str) -> str:
    """ansible-galaxy collection build + install, as a user would; returns the collections path."""
    subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", work, ROOT],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarball = glob.glob(os.path.join(work, "crossaccount-aws-*.tar.gz"))[0]
    collections = os.path.join(work, "collections")
    # the dependency amazon.aws, as make collection-link extracted it (no Galaxy server is assumed)
    shutil.copytree(AMAZON_AWS, os.path.join(collections, "ansible_collections", "amazon", "aws"))
    subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", collections, tarball],
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections),
    )
    print(f"installed {os.path.basename(tarball)} into {collections}")
    return collections


def run_playbook(server, layer, env, work: str, created: list[dict]) -> int:
    """ansible-playbook over Session Manager on every online instance of the four accounts."""
    account_client(server.endpoint, "s3", "111111111111").create_bucket(Bucket="example-ansible-ssm")
    env = dict(
        env,
        AWS_SESSION_MANAGER_PLUGIN=FAKE_PLUGIN,
        CROSSACCOUNT_FAKE_SSM_ROOT=os.path.join(work, "instances"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    banner(f"ansible-playbook -i {os.path.relpath(SSM_INVENTORY, ROOT)} {os.path.relpath(PLAYBOOK, ROOT)}")
    started = time.monotonic()
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", SSM_INVENTORY, PLAYBOOK], env=env, capture_output=True, text=True
    )
    elapsed = time.monotonic() - started
    print(proc.stdout[proc.stdout.find("PLAY RECAP") :] if "PLAY RECAP" in proc.stdout else proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        print(f"ERROR: the play failed (rc {proc.returncode})", file=sys.stderr)
        return 1

    banner("the sessions the stand-in recorded (account and role of the signing credentials)")
    names = {c["instance_id"]: c["name"] or "" for c in created}
    print(f"{'instance':<20} {'Name tag':<17} {'account':<13} {'region':<15} {'role':<22} sessions (all terminated)")
    sessions = sorted(layer.sessions.values(), key=lambda s: (s.account or "", s.region or "", s.target))
    rows: dict[tuple, list] = {}
    for s in sessions:
        rows.setdefault((s.target, s.account, s.region, s.role), []).append(s.terminated)
    for (target, account, region, role), ended in rows.items():
        print(
            f"{target:<20} {names.get(target, ''):<17} {account:<13} {region:<15} {role:<22}",
            f"{len(ended)} ({all(ended)})",
        )
    assumed = {arn: n for arn, n in layer.assume_calls.items() if arn.endswith(":role/AnsibleSessionManager")}
    accounts = sorted({s.account for s in sessions})
    print(
        f"\n{len(sessions)} sessions on {len({s.target for s in sessions})} instances in {len(accounts)} accounts "
        f"({', '.join(accounts)}) in {elapsed:.1f}s; AssumeRole of the session roles: "
        + ", ".join(f"{arn.split(':')[4]} x{n}" for arn, n in sorted(assumed.items()))
    )
    if len(accounts) != len(ACCOUNTS):
        print(f"ERROR: expected sessions in all {len(ACCOUNTS)} accounts", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    work = tempfile.mkdtemp(prefix="crossaccount-demo-")
    try:
        banner("build and install the collection")
        collections = install_collection(work)

        banner("start the local AWS stand-in and seed Example Corp")
        layers = {}

        def middleware(app):
            layers["ssm"] = SessionManagerLayer(FaultLayer(app, aws_like_regions=True))
            return layers["ssm"]

        server = StandIn(middleware=middleware).start()
        print(f"moto stand-in on {server.endpoint} (20 enabled regions per account, like AWS)")
        started = time.monotonic()
        created = seed(server.endpoint, example_corp())
        print(f"seeded {len(created)} instances in {len(ACCOUNTS)} accounts in {time.monotonic() - started:.1f}s")
        env = ansible_env(server.endpoint, collections=collections)
        env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "true"
        inventory = [os.path.join(BIN, "ansible-inventory"), "-i", INVENTORY]
        try:
            banner(f"ansible-inventory -i {os.path.relpath(INVENTORY, ROOT)} --graph")
            subprocess.run(inventory + ["--graph", "-v"], env=env, check=True)

            banner(f"ansible-inventory -i {os.path.relpath(INVENTORY, ROOT)} --list")
            started = time.monotonic()
            proc = subprocess.run(inventory + ["--list"], env=env, check=True, capture_output=True, text=True)
            elapsed = time.monotonic() - started
            print(proc.stdout)
            sys.stderr.write(proc.stderr)

            banner("the CMDB view: account, region, instance id, Name")
            hostvars = unwrap(json.loads(proc.stdout))["_meta"]["hostvars"]
            rows = sorted(
                (
                    hv["account_id"],
                    hv.get("account_name", ""),
                    hv["region"],
                    hv["instance_id"],
                    hv["ec2_tags"].get("Name", ""),
                    host,
                )
                for host, hv in hostvars.items()
            )
            print(f"{'account':<13} {'name':<12} {'region':<15} {'instance':<20} {'Name tag':<17} inventory_hostname")
            for row in rows:
                print(f"{row[0]:<13} {row[1]:<12} {row[2]:<15} {row[3]:<20} {row[4]:<17} {row[5]}")
            print(
                f"\n{len(rows)} hosts from {len({r[0] for r in rows})} accounts; "
                f"ansible-inventory --list took {elapsed:.1f}s over {len(ACCOUNTS)} accounts x 20 regions"
            )
            if len(rows) != len(created):
                print(f"ERROR: expected {len(created)} hosts", file=sys.stderr)
                return 1
            if run_playbook(server, layers["ssm"], env, work, created) != 0:
                return 1
        finally:
            server.stop()
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
