# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin crossaccount.aws.ec2: glue between Ansible and the engine in module_utils."""

from __future__ import annotations

DOCUMENTATION = r"""
name: ec2
short_description: EC2 instances of many AWS accounts and all their regions, in one inventory
version_added: "1.0.0"
author:
  - crossaccount.aws contributors (@crossaccount)
description:
  - Assumes a discovery role in every listed account, lists the instances of every enabled region
    (or of the regions you name) and builds one inventory of all of them.
  - Accounts come from O(accounts), an O(accounts_file) and/or AWS Organizations (O(organization));
    an explicit entry overrides what was discovered, and an account is scanned once.
  - Work runs on one bounded thread pool of (account, region) tasks; each account's role is
    assumed once and its credentials refresh themselves before they expire.
  - Hosts are named by the instance id unless O(hostnames) says otherwise; two instances are never
    merged into one host (a duplicate name becomes V(NAME_<instance id>), with a warning).
  - Groups, all children of C(all), are V(account_<id>), V(region_<region with _>) and
    V(name_<Name tag, sanitised>); O(keyed_groups), O(groups) and O(compose) add more.
  - Host variables are every DescribeInstances attribute in snake_case (the names
    amazon.aws.aws_ec2 uses), C(ec2_tags), C(account_id), C(account_name), C(region),
    C(ansible_host) (private IP, else public IP), C(crossaccount_stale) and C(crossaccount_scanned_at).
    All of them are untrusted data and are never templated.
  - A failure in one account or region never drops the others. Each failure is a warning and an
    entry in the C(crossaccount_errors) variable of group C(all); with the inventory cache on, the
    hosts of a failed account or region are kept from the last scan and marked C(crossaccount_stale).
  - The configuration file name must end with C(ec2.yml) or C(ec2.yaml).
  - Source credentials come from the standard boto3 chain (environment, O(profile)/AWS_PROFILE, SSO,
    instance profile). The inventory file never holds secret keys; a file that does is refused.
    AWS_ENDPOINT_URL, AWS_CONFIG_FILE and AWS_CA_BUNDLE are honoured.
requirements:
  - python >= 3.11 (ansible-core 2.19 and later need it on the controller)
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    type: str
    choices: ["crossaccount.aws.ec2"]
    version_added: "1.0.0"
  accounts:
    description:
      - The accounts to scan. Each entry is a quoted 12-digit account id (the default O(role_name)
        is assumed), or a mapping with C(id) and any of C(name) (a friendly name, published as
        C(account_name)), C(role_name), C(external_id) and C(regions), or a mapping with a full
        C(role_arn) instead of C(id) and C(role_name).
      - Ids must be quoted strings. An unquoted number is refused because YAML drops leading zeros
        and reads 0-prefixed digits as octal, which could name another account.
    type: list
    elements: raw
    default: []
    version_added: "1.0.0"
  accounts_file:
    description:
      - A YAML file holding a list of accounts in the same form as O(accounts) (or a mapping with an
        C(accounts) key). A relative path is resolved from the inventory file's directory.
      - Combined with O(accounts) and O(organization); entries in O(accounts) win.
    type: path
    version_added: "1.0.0"
  organization:
    description:
      - Discover accounts with AWS Organizations C(ListAccounts) (or the accounts of OUs, recursively).
        Only ACTIVE accounts are scanned; their Organizations names fill C(account_name).
      - An empty mapping lists every account with the source credentials. Keys are C(role_arn) and
        C(external_id) (a role in the management or delegated-administrator account to call
        Organizations through), C(include_ous), C(exclude_ous) (OU or root ids, each with every OU
        below it) and C(exclude_accounts) (quoted account ids).
      - Accounts that are not ACTIVE (suspended, closing) and excluded ones are skipped, each named at C(-v).
      - A failed discovery is a warning and an entry with C(account_id) V(organization) in
        C(crossaccount_errors), and no partial list; the accounts of O(accounts) and O(accounts_file)
        are scanned anyway. With the inventory cache on, the accounts it listed last time keep
        their hosts, marked C(crossaccount_stale), each with an C(OrganizationDiscoveryFailed) entry.
    type: dict
    version_added: "1.0.0"
  role_name:
    description:
      - The discovery role assumed in every account that names no role of its own.
    type: str
    version_added: "1.0.0"
  external_id:
    description: External id sent with every AssumeRole that has none of its own.
    type: str
    version_added: "1.0.0"
  role_session_name:
    description: The role session name, shown in CloudTrail of every scanned account.
    type: str
    default: crossaccount-inventory
    version_added: "1.0.0"
  duration_seconds:
    description:
      - Lifetime requested for each role session (900 to 43200; AWS also caps it at the role's maximum
        session duration, and at 3600 for a chained role). Credentials refresh themselves (a new
        AssumeRole) when a third of the session, at most 15 minutes, is left, so runs longer than
        this keep working and a normal run assumes each role once.
    type: int
    default: 3600
    version_added: "1.0.0"
  partition:
    description: The AWS partition of the role ARNs built from O(role_name).
    type: str
    default: aws
    choices: [aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc]
    version_added: "1.0.0"
  profile:
    description: A named profile for the source credentials (default chain when unset).
    type: str
    version_added: "1.0.0"
  sts_region:
    description:
      - Region of the STS endpoint used for AssumeRole (a regional endpoint), and of the
        DescribeRegions call. Default is the configured region, else the partition's first region.
    type: str
    version_added: "1.0.0"
  regions:
    description:
      - The regions to scan in every account that lists no regions of its own. Empty or unset, every
        region enabled in each account is scanned (DescribeRegions with that account's credentials,
        regions of other partitions and not-opted-in regions skipped).
    type: list
    elements: str
    default: []
    version_added: "1.0.0"
  exclude_regions:
    description: Regions never scanned.
    type: list
    elements: str
    default: []
    version_added: "1.0.0"
  filters:
    description:
      - DescribeInstances filters as a mapping of filter name to a value or a list of values.
      - Values are strings. A value YAML reads as a number or a boolean is refused (YAML turns
        V(0755) into 493, V(1.10) into 1.1 and V(yes) into true); quote it.
      - Unless C(instance-state-name) is given, instances in every state but terminated and
        shutting-down are listed.
    type: dict
    default: {}
    version_added: "1.0.0"
  hostnames:
    description:
      - Preference list for the inventory hostname; the first that has a value wins, the instance id
        is the fallback. Choices are V(instance-id), V(private-ip-address), V(ip-address),
        V(dns-name), V(private-dns-name) and V(tag:KEY).
    type: list
    elements: str
    default: [instance-id]
    version_added: "1.0.0"
  attributes:
    description:
      - Snake_case DescribeInstances attribute names kept as host variables (default, all of them).
        C(instance_id), C(account_id), C(account_name), C(region), C(ec2_tags) and C(ansible_host)
        are always kept. A lean list makes inventories of thousands of hosts much faster.
    type: list
    elements: str
    version_added: "1.0.0"
  max_workers:
    description:
      - Bound on concurrent AWS calls (threads in the one pool of account and account-region tasks),
        1 to 256. Each account-region is listed by one task at a time, so the EC2 request rate per
        account and region stays far below EC2's documented refill rate whatever the value. The
        default hides 100-300 ms of API latency for thousands of account-regions; every account
        shares one client per region, so more workers cost no extra memory; see docs/scaling.md.
    type: int
    default: 64
    version_added: "1.0.0"
  strict_errors:
    description:
      - When true, any failed account or region makes the inventory fail with a summary of every
        failure. When false (default) failures are warnings and entries in C(crossaccount_errors).
      - ansible-core only turns a failed inventory source into a non-zero exit when
        C(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) (or C(any_unparsed_is_failed) in ansible.cfg);
        without it the failed source is dropped whole (no hosts at all) and the exit code is 0. Set it
        for unattended jobs; see docs/reliability.md.
    type: bool
    default: false
    version_added: "1.0.0"
  retry_mode:
    description: botocore retry mode for every AWS call (no hand-written retry loops).
    type: str
    default: standard
    choices: [standard, adaptive, legacy]
    version_added: "1.0.0"
  max_attempts:
    description:
      - Total attempts per AWS call, the first included (botocore C(total_max_attempts)). Throttling,
        timeouts and connection errors are retried with exponential backoff and jitter.
    type: int
    default: 10
    version_added: "1.0.0"
  connect_timeout:
    description: Seconds to wait for a connection to an AWS endpoint.
    type: int
    default: 10
    version_added: "1.0.0"
  read_timeout:
    description: Seconds to wait for an answer; a timed-out call is retried, never turned into missing hosts.
    type: int
    default: 60
    version_added: "1.0.0"
  shard:
    description:
      - V(k/n) scans only the accounts whose stable hash (SHA-256 of the account id) falls in part k
        of n, so n inventory sources cover the fleet with no overlap and no gap. See docs/scaling.md.
    type: str
    version_added: "1.0.0"
"""

EXAMPLES = r"""
# cmdb.ec2.yml: one discovery role in every account, every enabled region
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts:
  - "111111111111"
  - id: "222222222222"
    name: development
  - id: "333333333333"
    name: testing
    role_name: OtherRole
    external_id: example-external-id
    regions: [us-east-1, eu-west-1]
  - role_arn: arn:aws:iam::444444444444:role/CMDBDiscovery

# accounts from AWS Organizations, through a role in the management account, plus a list file
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts_file: accounts.yml
organization:
  role_arn: arn:aws:iam::111111111111:role/OrgAccountLister
  exclude_ous: [ou-ab12-sandbox1]
regions: [us-east-1, eu-west-1]

# Name tags as hostnames, lean variables, extra groups, a 7-day cache for stale-if-error
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["111111111111", "222222222222"]
hostnames: [tag:Name, instance-id]
attributes: [instance_type, private_ip_address, state, launch_time, placement]
keyed_groups:
  - key: ec2_tags.Environment | default('none')
    prefix: env
  - key: instance_type
    prefix: type
compose:
  ansible_host: public_ip_address | default(private_ip_address)
strict_errors: false
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/crossaccount
cache_timeout: 604800
"""

import dataclasses  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.crossaccount.aws.plugins.module_utils.accounts import resolve_accounts  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (  # noqa: E402
    ConfigError,
    CrossAccountError,
    StrictErrorsFailure,
    failure_line,
    strict_errors_message,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import (  # noqa: E402
    assign_hostnames,
    default_groups,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import (  # noqa: E402
    Snapshot,
    fingerprint,
    run_vars,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import (  # noqa: E402
    OneLineParserError,
    ProgressReporter,
    any_unparsed_is_failed,
    configured_plugin,
    load_settings,
    plugin_names,
)

display = Display()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "crossaccount.aws.ec2"

    def verify_file(self, path: str) -> bool:
        """A file named *ec2.yml/*ec2.yaml, unless its ``plugin:`` names another plugin (an
        amazon.aws.aws_ec2 file such as x.aws_ec2.yml is left to that plugin)."""
        if not (super().verify_file(path) and path.endswith(("ec2.yml", "ec2.yaml"))):
            return False
        from ansible.parsing.dataloader import DataLoader

        readable, name = configured_plugin(self.loader or DataLoader(), path)
        return not readable or name in plugin_names(self)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        try:
            settings = load_settings(self, path)
            snapshot = self._cached_or_scanned(path, settings, cache)
            self._populate(settings, snapshot)
            self._raise_if_strict(settings, snapshot)
        except ConfigError as exc:
            raise OneLineParserError(f"crossaccount.aws.ec2 configuration error in {path}: {exc}") from None
        except StrictErrorsFailure as exc:
            raise AnsibleParserError(str(exc)) from None
        except CrossAccountError as exc:
            raise AnsibleParserError(f"crossaccount.aws.ec2: {exc}") from None

    # -- the snapshot: from the cache (Cacheable's get/update pattern) or a scan ------------------

    def _cached_or_scanned(self, path: str, settings, cache: bool) -> Snapshot:
        fp = fingerprint(attributes=settings.scan.attributes, filters=settings.scan.filters)
        scope = fingerprint(scope=settings.scope())
        cache_key = self.get_cache_key(path)
        user_cache_setting = self.get_option("cache")
        previous = None
        if user_cache_setting:
            try:
                previous = Snapshot.from_dict(self._cache[cache_key])
            except KeyError:
                previous = None
            # cache=False (--flush-cache, a refresh): scan, with the previous snapshot for stale-if-error
            if cache and previous is not None and previous.serves(fp, scope):
                display.vv("crossaccount.aws.ec2: inventory served from the cache")
                return previous
        snapshot = self._scan(settings, fp, scope, previous)
        if user_cache_setting:
            self._cache[cache_key] = snapshot.to_dict()
        return snapshot

    def _scan(self, settings, fp: str, scope: str, previous: Snapshot | None) -> Snapshot:
        from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext
        from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import scan, utc_now

        started = utc_now()
        ctx = AwsContext(**dataclasses.asdict(settings.client))
        ctx.source_credentials()
        accounts, account_failures = resolve_accounts(ctx, settings.accounts, log=display.v)
        reporter = ProgressReporter()
        result = scan(ctx, settings.scan, accounts, on_progress=reporter)
        reporter.done(result.progress)
        return Snapshot.build(
            result,
            fingerprint=fp,
            scope=scope,
            scanned_at=started,
            previous=previous,
            accounts=accounts,
            account_failures=account_failures,
            shard=settings.accounts.shard,
        )

    # -- inventory ------------------------------------------------------------------------------

    def _populate(self, settings, snapshot: Snapshot) -> None:
        for error in snapshot.errors:
            line = failure_line(error)
            kept = snapshot.stale_for(error)
            if kept:
                line += f" (kept {kept.hosts} host(s) from the scan of {kept.since}, marked crossaccount_stale)"
            display.warning(f"crossaccount.aws.ec2: {line}")
        records = list(snapshot.records())
        names, report = assign_hostnames(records, settings.output.hostnames)
        for name, ids in sorted(report.collisions.items()):
            display.warning(
                f"crossaccount.aws.ec2: {len(ids) + 1} instances want the hostname '{name}'; "
                f"the first keeps it, the others are named {name}_<instance id> ({', '.join(ids)})"
            )
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        added_groups: set[str] = set()
        inventory = self.inventory
        for name, record in zip(names, records, strict=True):
            inventory.add_host(name)
            for group in default_groups(record):
                if group not in added_groups:
                    inventory.add_group(group)
                    added_groups.add(group)
                inventory.add_child(group, name)
            for var, value in record.items():
                inventory.set_variable(name, var, value)
            if compose:
                self._set_composite_vars(compose, record, name, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, record, name, strict=strict)
            if keyed_groups:
                self._add_host_to_keyed_groups(keyed_groups, record, name, strict=strict)
        for var, value in run_vars(plain(inventory.groups["all"].get_vars()), snapshot).items():
            inventory.set_variable("all", var, value)

    def _raise_if_strict(self, settings, snapshot: Snapshot) -> None:
        if settings.output.strict_errors and snapshot.errors:
            if self.get_option("cache"):
                self.update_cache_if_changed()  # core does it only after a parse that did not raise
            raise StrictErrorsFailure(strict_errors_message(snapshot.errors, any_unparsed_is_failed()))
