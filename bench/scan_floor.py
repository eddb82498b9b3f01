"""The scan floor: a bare boto3 thread pool listing the same fleet as the plugin.

Run as its own process (like ansible-inventory), so its wall time includes the boto3 import.
Plain boto3 as a careful script would use it: one Session, one STS client, role credentials per
account, one EC2 client per account-region (created under a lock: sessions are not thread safe),
``max_pool_connections`` = workers, standard retries, DescribeInstances pages of 1000, the same
state filter. No Ansible, no host records, no hostnames: only the API calls and the count.

``--shared``: the issue-13 floor instead, one EC2 client per region shared by every account, each
request signed with the calling thread's account (the signer's credentials replaced by a
per-thread object; a bare script may do that, the plugin does it through botocore_speedups.py).

Prints one JSON line: {"instances": N, "tasks": T}.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.credentials import Credentials, ReadOnlyCredentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", required=True, help="comma-separated account ids")
    parser.add_argument("--regions", default="", help="comma-separated regions; empty: DescribeRegions per account")
    parser.add_argument("--role", default="BenchReader")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument(
        "--shared",
        action="store_true",
        help="one EC2 client per region shared by every account, credentials chosen per request",
    )
    args = parser.parse_args(argv)
    accounts = [a for a in args.accounts.split(",") if a]
    regions = [r for r in args.regions.split(",") if r]

    config = Config(retries={"mode": "standard", "total_max_attempts": 10}, max_pool_connections=args.workers)
    session = boto3.session.Session()
    lock = threading.Lock()
    sts = session.client("sts", config=config)
    states = ["pending", "running", "stopping", "stopped"]

    shared: dict = {}
    bound = threading.local()

    class PerRequest(Credentials):
        """The credentials of the calling thread's account (botocore freezes them per request)."""

        def __init__(self):
            pass

        def get_frozen_credentials(self):
            return bound.creds

    per_request = PerRequest()

    def client(creds, region):
        if args.shared:
            bound.creds = ReadOnlyCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
            with lock:
                if region not in shared:
                    shared[region] = session._session.create_client("ec2", region_name=region, config=config)
                    shared[region]._request_signer._credentials = per_request
                return shared[region]
        with lock:
            return session.client(
                "ec2",
                region_name=region,
                config=config,
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )

    def region_task(creds, region):
        count = 0
        pages = (
            client(creds, region)
            .get_paginator("describe_instances")
            .paginate(Filters=[{"Name": "instance-state-name", "Values": states}], PaginationConfig={"PageSize": 1000})
        )
        for page in pages:
            for reservation in page["Reservations"]:
                count += len(reservation["Instances"])
        return count

    total = 0
    tasks = 0
    with ThreadPoolExecutor(max_workers=args.workers) as pool:

        def account_task(account):
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{args.role}", RoleSessionName="floor")[
                "Credentials"
            ]
            wanted = regions
            if not wanted:
                answer = client(creds, "us-east-1").describe_regions(AllRegions=False)
                wanted = sorted(r["RegionName"] for r in answer["Regions"])
            return [pool.submit(region_task, creds, r) for r in wanted]

        for account_future in [pool.submit(account_task, a) for a in accounts]:
            for region_future in account_future.result():
                total += region_future.result()
                tasks += 1
    print(json.dumps({"instances": total, "tasks": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
