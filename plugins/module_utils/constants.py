# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared by several stages of the data flow (a leaf module: it imports nothing).

The configuration checks which hostname sources exist; the host records read the attribute
behind each one. Both import them from here, so no module imports against the data flow."""

from __future__ import annotations

# hostnames option value -> the snake_case host variable it reads
HOSTNAME_SOURCES = {
    "instance-id": "instance_id",
    "private-ip-address": "private_ip_address",
    "ip-address": "public_ip_address",
    "dns-name": "public_dns_name",
    "private-dns-name": "private_dns_name",
}

# the kinds of default group (the default_groups option: config.py checks it, hosts.py makes the
# groups), in the order a host joins them
DEFAULT_GROUP_KINDS = ("account", "region", "name")

# the account id of the failure that stands for the whole Organizations listing (organizations.py
# reports it, snapshot.py keeps the previous accounts when it is there)
ORGANIZATION_FAILURE_ID = "organization"
