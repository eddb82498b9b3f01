# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the crossaccount.aws.cmdb_export action (the code is plugins/action/cmdb_export.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cmdb_export
short_description: Write the CMDB export (CSV and JSON) of the crossaccount.aws.ec2 inventory
version_added: "1.0.0"
author:
  - crossaccount.aws contributors (@crossaccount)
description:
  - Writes every instance of the C(crossaccount.aws.ec2) inventory loaded in this run to
    C(<dest>/<name>.csv) and C(<dest>/<name>.json), and the failed accounts and regions to
    C(<dest>/<name>-errors.csv).
  - The CSV has one row per instance, sorted by account id, region and instance id, with the
    columns C(account_id), C(account_name), C(region), C(instance_id), C(name) (the Name tag),
    C(state), C(instance_type), C(private_ip_address), C(public_ip_address), C(availability_zone),
    C(vpc_id), C(launch_time), C(stale), C(scanned_at) and one C(tag_<KEY>) column per O(tag_columns) entry.
    A C(stale) row is an instance kept from the last successful scan of an account or region that
    failed now (inventory cache on); it was not seen this time, and it was not deleted either.
  - The JSON document holds the same rows (plus every tag) as plain values, the failures, and
    counts. C(complete) is false when any account or region failed.
  - Each file is replaced atomically (a temporary file in the same directory, fsync, then a
    rename); a reader sees the previous export or the new one, never a partial file, and a
    failed or interrupted run leaves the previous export as it was.
  - Refuses to write anything when the C(crossaccount.aws.ec2) inventory did not load (ansible-core
    turns a failed inventory source into a warning and an empty inventory; an empty export would
    read as if every instance had been deleted).
  - Refuses to write anything, and fails, when accounts or regions failed and the export would hold
    no freshly scanned instance (every account failed; or every host is stale data kept from an
    earlier scan by the inventory cache). The previous export stays as it was. An empty export
    with no failure (every account scanned, no instance) is written.
  - Every text cell of both CSV files that a spreadsheet could run as a formula (starting with
    C(=), C(+), C(-), C(@), tab, CR or LF, also after leading blanks or in full-width form) is
    prefixed with a single quote; the JSON keeps the values as they are.
  - The files are UTF-8. A lone surrogate code point, which has no UTF-8 form (no AWS text holds
    one, a JSON answer of a proxy can, e.g. an AWS Organizations account name), is written as
    U+FFFD in all three files instead of failing the whole export.
  - Runs on the controller only (an action plugin) and reads the host variables straight from the
    in-memory inventory, never templating them.
options:
  dest:
    description: The directory the files are written to. It must exist.
    type: path
    required: true
  name:
    description: The base name of the files.
    type: str
    default: cmdb
  tag_columns:
    description: Tag keys that get a CSV column each, named C(tag_<KEY>).
    type: list
    elements: str
    default: []
  fail_on_errors:
    description:
      - Fail the task (after writing the export) when any account or region failed, so an
        unattended run alerts. The export, with its failures listed, is written either way.
    type: bool
    default: false
  max_drop_percent:
    description:
      - Refuse to replace the previous export (and fail) when the new one has more than this
        percentage fewer instances than the previous C(<name>.json). Guards the CMDB against an
        export that lost part of the estate for a reason nobody reported (an emptied account list,
        a wrong filter). Unset, any size is written.
    type: float
  mode:
    description:
      - The permissions of the files written, as an octal string. Applied even when a file's
        content did not change (the task then reports a change when the permissions did).
    type: raw
    default: "0644"
attributes:
  check_mode:
    support: full
    description: Counts what would be written and writes nothing.
  diff_mode:
    support: none
    description: Reports no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (an action plugin); writes the files there.
notes:
  - Run it through the C(crossaccount.aws.cmdb_export) playbook, see docs/cmdb-export.md.
  - Only hosts made by C(crossaccount.aws.ec2) are exported (those with C(account_id) and
    C(crossaccount_scanned_at), which C(hostvars_prefix) and C(hostvars_suffix) never rename; their
    instance variables, C(instance_id) included, are read under the prefix and suffix their source
    published); C(--limit) does not shrink the export.
  - Failures come from the C(crossaccount_errors) variable of group C(all). With several
    C(crossaccount.aws.ec2) sources in one run (shards), their failures add up there and one export
    covers them all; when one of them failed to load, nothing is written and the task fails.
seealso:
  - plugin: crossaccount.aws.ec2
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Write /srv/cmdb/cmdb.csv, cmdb.json and cmdb-errors.csv
  crossaccount.aws.cmdb_export:
    dest: /srv/cmdb
    tag_columns: [Environment, Owner]
"""

RETURN = r"""
paths:
  description: The files of the export.
  returned: always
  type: dict
  sample: {"csv": "/srv/cmdb/cmdb.csv", "json": "/srv/cmdb/cmdb.json", "errors_csv": "/srv/cmdb/cmdb-errors.csv"}
instances:
  description: Number of instances exported (stale ones included).
  returned: always
  type: int
stale_instances:
  description: Number of instances kept from an earlier scan of a failed account or region.
  returned: always
  type: int
accounts:
  description: Number of accounts with at least one instance in the export.
  returned: always
  type: int
complete:
  description: True when no account or region failed.
  returned: always
  type: bool
scanned_at:
  description: When the inventory scan started (UTC).
  returned: always
  type: str
scan_errors:
  description: The failed accounts and regions, with the number of hosts kept stale for each.
  returned: always
  type: list
  elements: dict
"""
