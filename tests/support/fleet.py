"""The Example Corp fleet, seeded into a moto stand-in by assuming a role in each account.

moto maps the credentials of ``arn:aws:iam::<account>:role/X`` to that account (the role need
not exist), so one AssumeRole per account and ``run_instances`` builds a multi-account fleet.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

ACCOUNTS = {
    "111111111111": "payer",
    "222222222222": "development",
    "333333333333": "testing",
    "444444444444": "production",
}
SEED_ROLE = "FleetSeeder"

# A tag value that must never be templated (it would run `id` on the controller).
EVIL_TAG = "{{ lookup('pipe', 'id') }}"


@dataclass
class Planned:
    account: str
    region: str
    name: str | None
    tags: dict = field(default_factory=dict)
    instance_type: str = "t3.micro"
    state: str = "running"


def example_corp() -> list[Planned]:
    """Several regions, Name tags, some Names shared across accounts and regions, one untagged
    instance, one stopped instance and one instance whose tag holds a template."""
    p = []
    p.append(Planned("111111111111", "us-east-1", "billing-exporter", {"Environment": "shared"}))
    p.append(Planned("111111111111", "us-east-1", "bastion", {"Environment": "shared"}))
    p.append(Planned("222222222222", "us-east-1", "web", {"Environment": "dev"}))
    p.append(Planned("222222222222", "us-east-1", "web", {"Environment": "dev"}))
    p.append(Planned("222222222222", "eu-west-1", "db", {"Environment": "dev", "Notes": EVIL_TAG}))
    p.append(Planned("333333333333", "eu-west-1", "web", {"Environment": "test"}))
    p.append(Planned("333333333333", "eu-west-1", "ci-runner", {"Environment": "test"}, state="stopped"))
    p.append(Planned("444444444444", "us-east-1", "web", {"Environment": "prod"}, instance_type="m5.large"))
    p.append(Planned("444444444444", "us-east-1", "web", {"Environment": "prod"}, instance_type="m5.large"))
    p.append(Planned("444444444444", "eu-west-1", "web", {"Environment": "prod"}, instance_type="m5.large"))
    p.append(Planned("444444444444", "ap-southeast-2", "api", {"Environment": "prod"}))
    p.append(Planned("444444444444", "ap-southeast-2", "api", {"Environment": "prod"}))
    p.append(Planned("444444444444", "ap-southeast-2", None, {}))
    return p


# The side-by-side with amazon.aws.aws_ec2 (tests/integration/test_aws_ec2_side_by_side.py): a small
# fleet in two accounts and the regions of aws_ec2's documented EXAMPLES, with the tag values they use.
# Accounts no other test scans: moto's state is one per process, shared by every stand-in in it.
SIDE_BY_SIDE_ACCOUNTS = ("710000000011", "720000000022")


def aws_ec2_examples_fleet() -> list[Planned]:
    p = []
    a, b = SIDE_BY_SIDE_ACCOUNTS
    p.append(Planned(a, "us-east-1", "my_first_tag", {"Environment": "dev", "Application": "billing", "Role": "web"}))
    p.append(Planned(a, "us-east-1", "my_second_tag", {"Environment": "qa", "Role": "db"}))
    p.append(Planned(a, "us-west-1", "my_third_tag", {"Environment": "prod", "CustomDNSName": "third.example.com"}))
    p.append(Planned(a, "us-east-2", "Tag1", {"Environment": "dev"}, state="stopped"))
    p.append(Planned(b, "us-east-1", "Tag2", {"Environment": "qa", "Application": "api"}, instance_type="m5.large"))
    p.append(Planned(b, "us-east-1", "test-web", {"Environment": "dev", "Role": "web"}))
    p.append(Planned(b, "us-west-1", "my_second_tag", {"Environment": "prod"}))
    p.append(Planned(b, "us-east-2", None, {}))
    return p


def account_client(endpoint: str, service: str, account: str, region: str = "us-east-1"):
    """A client acting in ``account``: moto maps the credentials of any role ARN of an account
    (the role need not exist) to that account."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name=region,
    )
    sts = session.client("sts", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{SEED_ROLE}", RoleSessionName="seed")["Credentials"]
    return session.client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _account_ec2(endpoint: str, account: str, region: str):
    """An EC2 client acting in ``account`` and an AMI id of that region."""
    ec2 = account_client(endpoint, "ec2", account, region)
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    return ec2, image


def seed(endpoint: str, plan: list[Planned] | None = None) -> list[dict]:
    """Create the planned instances; returns one dict per instance created:
    {account, region, instance_id, name, state, instance_type}."""
    plan = example_corp() if plan is None else plan
    created = []
    groups: dict[tuple[str, str], list[Planned]] = {}
    for item in plan:
        groups.setdefault((item.account, item.region), []).append(item)
    for (account, region), items in sorted(groups.items()):
        ec2, image = _account_ec2(endpoint, account, region)
        for item in items:
            tags = dict(item.tags)
            if item.name is not None:
                tags["Name"] = item.name
            kwargs = dict(ImageId=image, MinCount=1, MaxCount=1, InstanceType=item.instance_type)
            if tags:
                kwargs["TagSpecifications"] = [
                    {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                ]
            instance = ec2.run_instances(**kwargs)["Instances"][0]
            iid = instance["InstanceId"]
            if item.state == "stopped":
                ec2.stop_instances(InstanceIds=[iid])
            created.append(
                {
                    "account": account,
                    "region": region,
                    "instance_id": iid,
                    "name": item.name,
                    "state": item.state,
                    "instance_type": item.instance_type,
                    "private_ip_address": instance.get("PrivateIpAddress"),
                }
            )
    return created


def seed_bulk(
    endpoint: str, accounts: list[str], regions: list[str], per_region: int, instance_type: str = "t3.micro"
) -> int:
    """A large synthetic fleet: ``per_region`` instances in each account-region (one
    run_instances call each). Returns the number created."""
    total = 0
    for account in accounts:
        for region in regions:
            ec2, image = _account_ec2(endpoint, account, region)
            ec2.run_instances(
                ImageId=image,
                MinCount=per_region,
                MaxCount=per_region,
                InstanceType=instance_type,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [
                            {"Key": "Name", "Value": f"node-{account[-3:]}-{region}"},
                            {"Key": "Environment", "Value": "bench"},
                        ],
                    }
                ],
            )
            total += per_region
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Seed the Example Corp fleet into a stand-in")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--out", help="write the created instances as JSON here")
    args = parser.parse_args(argv)
    created = seed(args.endpoint)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(created, fh, indent=1)
    print(f"seeded {len(created)} instances in {len({c['account'] for c in created})} accounts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
