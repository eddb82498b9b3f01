"""The example inventory file the integration tests share: the four Example Corp accounts of
tests/support/fleet.py (every account form: a quoted id, id with a name, a role ARN) in three regions."""

from __future__ import annotations

EXAMPLE_INVENTORY = """plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - "111111111111"
  - id: "222222222222"
    name: development
  - id: "333333333333"
    name: testing
  - role_arn: arn:aws:iam::444444444444:role/CMDBDiscovery
    name: production
{more_accounts}regions: [us-east-1, eu-west-1, ap-southeast-2]
"""


def example_inventory(extra: str = "", more_accounts: tuple[str, ...] = ()) -> str:
    """The example inventory with ``extra`` options appended and ``more_accounts`` (quoted ids) listed."""
    accounts = "".join(f'  - "{account}"\n' for account in more_accounts)
    return EXAMPLE_INVENTORY.format(more_accounts=accounts) + (extra.rstrip("\n") + "\n" if extra else "")
