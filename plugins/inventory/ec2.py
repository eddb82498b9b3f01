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
    merged into one host (a duplicate name stays with the longest-running instance, the others
    become V(NAME_<instance id>), with a warning), and no tag can make a host name equal a group,
    V(localhost) or another host (see O(hostnames)).
  - Groups, all children of C(all), are V(account_<id>), V(region_<region with _>) and
    V(name_<Name tag, sanitised>) (O(default_groups) chooses which); O(keyed_groups), O(groups) and
    O(compose) add more.
  - Host variables are every DescribeInstances attribute in snake_case (the names
    amazon.aws.aws_ec2 uses, C(placement.region) included), C(ec2_tags) (aws_ec2's C(tags), a name
    ansible-core reserves), C(account_id), C(account_name), C(region),
    C(ansible_host) (private IP, else public IP), C(crossaccount_stale) and C(crossaccount_scanned_at).
    All of them are untrusted data and are never templated. O(compose), O(groups) and O(keyed_groups)
    do not see the default C(ansible_host), as amazon.aws.aws_ec2 sets none; a O(compose) entry for it
    replaces the default.
  - O(compose), O(groups) and O(keyed_groups) are parsed before any AWS call. A Jinja syntax error, or
    an expression reading a variable amazon.aws.aws_ec2 sets under another name (C(tags), which is
    C(ec2_tags) here), is refused with one line naming the option and the fix. An aws_ec2 option this
    plugin names differently or does not support is refused with where it went (see
    docs/migrating-from-aws_ec2.md).
  - A O(keyed_groups) C(parent_group) written as a template (rendered per host, from host data)
    never makes a keyed group the child of a default group or a name shaped like one, a O(groups)
    key, V(ssm_online), a group that existed before this source, or the fixed C(parent_group) of
    another entry; that link is not made, with one warning. Write C(parent_group) as a fixed name.
  - A failure in one account or region never drops the others. Each failure is a warning and an
    entry in the C(crossaccount_errors) variable of group C(all); with the inventory cache on, the
    hosts of a failed account or region are kept from the last scan and marked C(crossaccount_stale).
  - The configuration file name must end with C(ec2.yml) or C(ec2.yaml), and its O(plugin) must name this
    plugin; a file whose O(plugin) names another plugin (such as C(amazon.aws.aws_ec2)) is left to that plugin,
    and one with no O(plugin) (a misspelt key) is refused naming it.
  - Source credentials come from the standard boto3 chain (environment, O(profile)/AWS_PROFILE, SSO,
    instance profile). The inventory file never holds secret keys; a file that does is refused.
    AWS_ENDPOINT_URL, AWS_CONFIG_FILE and AWS_CA_BUNDLE are honoured. amazon.aws.aws_ec2's AWS_URL,
    AWS_ACCESS_KEY and AWS_SECRET_KEY, which botocore does not read, are refused in one line unless
    AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY holds the same value.
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
      - A YAML file holding a list of accounts in the same form as O(accounts) (or a mapping with only
        an C(accounts) key; any other key is refused). C(~) and environment variables are expanded, as
        in any option of type path, and a relative path is resolved from the inventory file's directory.
      - Combined with O(accounts) and O(organization); entries in O(accounts) win.
    type: path
    version_added: "1.0.0"
  organization:
    description:
      - Discover accounts with AWS Organizations C(ListAccounts) (or the accounts of OUs, recursively).
        Only ACTIVE accounts are scanned; their Organizations names fill C(account_name).
      - An empty mapping lists every account with the source credentials. Keys are C(role_arn) and
        C(external_id) (a role in the management or delegated-administrator account to call
        Organizations through, and its external id, refused without C(role_arn)), C(include_ous),
        C(exclude_ous) (OU or root ids, each with every OU below it) and C(exclude_accounts) (quoted
        account ids). An empty C(role_arn) is refused; leave it out to list the accounts with the
        source credentials.
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
    description:
      - A named profile for the source credentials (default chain when unset).
      - An empty name, or a profile the AWS config and credentials files do not define (also one
        named by C(AWS_PROFILE)), is refused in one line naming it, before any AWS call.
    type: str
    version_added: "1.0.0"
  sts_region:
    description:
      - Region of the STS endpoint used for AssumeRole (a regional endpoint), and of the
        DescribeRegions call. Default is the configured region, else the partition's first region.
      - A region of another partition than the accounts' (V(cn-north-1) with O(partition=aws)) is
        refused before any AWS call.
    type: str
    version_added: "1.0.0"
  regions:
    description:
      - The regions to scan in every account that lists no regions of its own. Empty or unset, every
        region enabled in each account is scanned (DescribeRegions with that account's credentials,
        regions of other partitions and not-opted-in regions skipped). The regions AWS enables in
        every account (the 17 commercial regions introduced before 20 March 2019, both China and
        both GovCloud regions) are scanned even when the answer leaves them out; O(exclude_regions)
        removes any of them.
      - Each region given (here or in an account's own C(regions)) must be of the partition of the
        accounts that use it (O(partition), or that of an account's C(role_arn)); a region of
        another partition is refused before any AWS call. A region is placed by its partition's
        name pattern, so a new region of a partition is accepted.
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
      - A value is never templated. A Jinja template (amazon.aws.aws_ec2 renders one in O(filters),
        O(regions) and O(profile)) is refused in one line, here and in O(regions) and O(profile).
      - Unless C(instance-state-name) is given, instances in every state but terminated and
        shutting-down are listed.
      - Filter names are case-sensitive. A name one or two edits from a documented DescribeInstances
        filter name, or one written with underscores or capitals (C(instance_state_name)), is refused
        as a typo in one line naming the filter meant, here and in O(include_filters) and
        O(exclude_filters); AWS would refuse the query in every account-region. Other names go to AWS
        as written.
    type: dict
    default: {}
    version_added: "1.0.0"
  include_filters:
    description:
      - More DescribeInstances queries, as in amazon.aws.aws_ec2. Each entry is a mapping like
        O(filters) and is one more query in every account-region; the instances of O(filters) (when
        set) and of every entry are united, each instance once. With O(include_filters) and no
        O(filters), only the entries are queried.
      - Each entry lists every state but terminated and shutting-down unless it names
        C(instance-state-name). Values are strings, as in O(filters).
      - A failed query fails its whole account-region (reported, never a partial list).
    type: list
    elements: dict
    default: []
    version_added: "1.1.0"
  exclude_filters:
    description:
      - DescribeInstances queries whose instances are left out, as in amazon.aws.aws_ec2; they win over
        O(filters) and O(include_filters). Each entry is one more query in every account-region.
    type: list
    elements: dict
    default: []
    version_added: "1.1.0"
  hostvars_prefix:
    description:
      - Prepended to the name of every instance variable (the DescribeInstances attributes and
        C(ec2_tags)), as amazon.aws.aws_ec2 does; O(compose), O(groups) and O(keyed_groups) read the
        prefixed names. This plugin's own variables (C(account_id), C(account_name), C(region),
        C(ansible_host), C(crossaccount_stale), C(crossaccount_scanned_at), and those of O(ssm) such
        as C(ssm_ping_status)) keep their names.
      - Every host of the source then also has C(crossaccount_hostvars_prefix) (and
        C(crossaccount_hostvars_suffix) with O(hostvars_suffix)), so that readers of the instance
        variables, the CMDB export C(crossaccount.aws.cmdb_export) among them, find them.
      - Letters, digits and underscores, not starting with a digit.
    type: str
    version_added: "1.1.0"
  hostvars_suffix:
    description:
      - Appended to the name of every instance variable, like O(hostvars_prefix).
    type: str
    version_added: "1.1.0"
  hostnames:
    description:
      - Preference list for the inventory hostname, in amazon.aws.aws_ec2's grammar; the first entry
        that has a value for an instance names it, the instance id is the fallback. Each entry gives
        the name aws_ec2 gives. An empty list is the default (as in aws_ec2, whose default differs).
        A single string without a comma is a list of one entry; a string with a comma (which
        ansible-core splits at each comma, so V(tag:K1,K2) would become two entries) and a mapping
        outside a list are refused; write a YAML list.
      - V(tag:KEY) is the value of tag KEY; V(tag:KEY=VALUE) gives V(KEY_VALUE) when the tag has that
        value; V(tag:K1=V1,K2) is the first of its items that matches.
      - Any DescribeInstances filter name aws_ec2 maps to an attribute, such as V(instance-id),
        V(dns-name), V(ip-address), V(private-dns-name), V(private-ip-address),
        V(network-interface.addresses.association.public-ip), V(availability-zone) or V(owner-id);
        a name from attributes that holds V(:) is sanitised as aws_ec2 does (in the mapping form,
        each such part on its own, so a MAC address after a prefix gives aws_ec2's name).
      - A mapping with C(name) (a source, or a literal), and optionally C(prefix) (a source or a
        literal) and C(separator) (default V(_)) gives V(PREFIX<separator>NAME) when both have a value.
      - Refused when the file is read, in one line naming the entry and the fix, never silently
        ignored - an unknown or misspelt source, Jinja2 filters (aws_ec2 renders tag values inside a
        template; here nothing from AWS is templated), V(tag)/V(tag-key)/V(tag-value) (the whole tag
        list), a literal outside the mapping form, an entry whose every name would start like a
        default group (a literal prefix V(name) with separator V(_), V(tag:name=web)). An entry that
        names no instance at all (a typo such as V(tag:Nmae)) is one warning, and so is a mapping's
        C(prefix) that has a value for no instance (its names were all given without the prefix), and
        an item of a V(tag:K1=V1,K2) list that no instance matches while the others name hosts.
      - Names are never merged, and never steered by a tag. Among instances that want the same name
        the longest-running (first launched, then instance id) keeps it and the others are
        named V(NAME_<instance id>), so launching an instance never renames another. The first
        launch is the earlier of C(launch_time) and the attach time of the primary network interface
        (device index 0), since AWS resets C(launch_time) when a stopped instance starts, so stopping
        and starting an instance does not hand its name to a later one either. The same
        contest decides between sources of this plugin in one run (an inventory directory with a
        file per business unit), whatever their order; the earlier source's host is renamed when
        it loses (an instance that two overlapping sources both list keeps the name the first
        gave it). A name that is a group (of this or an earlier source, one O(keyed_groups)/O(groups)
        create, or one a file of this plugin fixes even when it is empty this run - a O(groups) key,
        a O(keyed_groups) C(parent_group), V(ssm_online)), a tag-given name that starts like a
        O(keyed_groups) entry's names (its prefix and separator, e.g. V(env_)), a name that starts
        like a default group (V(account_), V(region_), V(name_), made or not), V(all),
        V(ungrouped), V(localhost) or another name of the controller (V(127.1) and the other short
        forms of loopback too), another instance's id, a host of another plugin's source, an IP
        address taken from a tag or any name a resolver reads as one (V(42)), or not a plain name
        (only letters, digits, V(.), V(_) and V(-)) is refused with one warning naming the instance,
        its account and the value, and the host is named by its instance id. See docs/security.md.
      - The attributes an account's users write (V(key-name), V(group-name), V(instance.group-name),
        V(network-interface.group-name), V(network-interface.description), V(placement-group-name),
        V(client-token)) are contested like tags - never an IP address, never starting like a
        O(keyed_groups) entry's names, yielding to a name AWS gives another instance.
    type: list
    elements: raw
    default: [instance-id]
    version_added: "1.0.0"
  attributes:
    description:
      - Snake_case DescribeInstances attribute names kept as host variables (default, all of them).
        C(instance_id), C(account_id), C(account_name), C(region), C(ec2_tags) and C(ansible_host)
        are always kept, and so are the attributes O(hostnames) reads (with C(launch_time) and
        C(network_interfaces), which decide who keeps a contested name, unless hosts are named by
        C(instance-id) alone). A lean list makes inventories of thousands of hosts much faster.
    type: list
    elements: str
    version_added: "1.0.0"
  default_groups:
    description:
      - The groups every host joins, each a child of C(all) - V(account) (V(account_<account id>)),
        V(region) (V(region_<region with _>), such as V(region_eu_west_1)) and V(name)
        (V(name_<Name tag, sanitised>), for hosts that have a Name tag). An empty list makes none of
        them; O(keyed_groups), O(groups) and O(ssm) (V(ssm_online)) still add theirs, and a host in
        no group is in V(ungrouped).
      - Host names do not depend on it. No host name starts like a default group (V(account_),
        V(region_), V(name_)), whether the group is made or not, so changing this renames no host
        and a tag never names a host V(account_<id>) (see O(hostnames)).
      - Leave V(name) out for inventories of thousands of accounts. Name tags are often unique, so
        there is one V(name_) group per host, and ansible-core's own handling of groups (once the
        sources are parsed, in every C(ansible-inventory) and C(ansible-playbook) run, cached runs
        included) grows with the square of their number. 5,000 accounts of 8 uniquely named
        instances make 45,000 groups, and a playbook run from the cache took 95-136 s with them and
        24-27 s with V([account, region]) on a 2-core VM. From 10,000 V(name_) groups, a file that does not
        set this option gets a warning naming it. See docs/scaling.md.
      - Applied when the inventory is built, so changing it takes effect on a cached run too.
    type: list
    elements: str
    choices: [account, region, name]
    default: [account, region, name]
    version_added: "1.1.0"
  max_workers:
    description:
      - Bound on concurrent AWS calls (threads in the one pool of account and account-region tasks),
        1 to 256. Each account-region is listed by one task at a time, so the EC2 request rate per
        account and region stays far below EC2's documented refill rate whatever the value. The
        default keeps two scan processes of a fast 2-core controller busy at about 100 ms of API
        latency for thousands of account-regions (more latency, or a slower controller, needs
        fewer calls in flight per unit of CPU); every account shares one client per region, so more
        workers cost no extra memory. Lower it (16-32) when the source account's STS budget is
        shared with other busy tools; see docs/scaling.md.
      - The default was 16 in version 1.0.0.
    type: int
    default: 128
    version_added: "1.0.0"
  scan_processes:
    description:
      - How many processes scan, 0 to 64. One Python process does the scan's CPU work on one core at a
        time; with more, the accounts are split round-robin over forked processes, each with its own
        AWS session and its share of the C(max_workers) threads (so C(max_workers) still bounds
        concurrent AWS calls, and there are never more processes than C(max_workers) or accounts).
        The controller's credentials are resolved once, before the split. A process that fails
        costs only its accounts, each reported as failed (C(ScanProcessFailed)).
      - C(0) (default) is automatic, one process per usable CPU (affinity and the container's CPU quota
        count), at most 4, when at least 20 accounts are scanned; otherwise one. C(1) keeps the scan in
        one process. Not used (one process) on macOS, without C(fork), or when another thread is
        running. See docs/scaling.md.
    type: int
    default: 0
    version_added: "1.1.0"
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
      - Total attempts per AWS call, the first included (botocore C(total_max_attempts)), 1 to 20.
        Throttling, timeouts and connection errors are retried with exponential backoff and jitter.
    type: int
    default: 10
    version_added: "1.0.0"
  connect_timeout:
    description: Seconds to wait for a connection to an AWS endpoint, 1 to 600.
    type: int
    default: 10
    version_added: "1.0.0"
  read_timeout:
    description:
      - Seconds to wait for an answer, 1 to 3600; a timed-out call is retried, never turned into missing
        hosts.
    type: int
    default: 60
    version_added: "1.0.0"
  shard:
    description:
      - V(k/n) scans only the accounts whose stable hash (SHA-256 of the account id) falls in part k
        of n, so n inventory sources cover the fleet with no overlap and no gap. See docs/scaling.md.
    type: str
    version_added: "1.0.0"
  ssm:
    description:
      - Reach the hosts over SSM Session Manager with the connection plugin crossaccount.aws.aws_ssm
        (amazon.aws.aws_ssm with the session role of each host's own account). Sets these host
        variables, none of them secret, C(ansible_connection) (unless C(set_connection) is false),
        C(ansible_aws_ssm_instance_id), C(ansible_aws_ssm_region), C(ansible_aws_ssm_bucket_name),
        C(crossaccount_ssm_role_arn) (arn:PARTITION:iam::ACCOUNT:role/C(role_name) of the host's own
        account) and C(crossaccount_ssm_role_session_name).
      - Keys are C(role_name) (required, the session role that exists in every account),
        C(bucket_name) (required, aws_ssm's file-transfer bucket), C(bucket_endpoint_url),
        C(document) (an SSM session document), C(s3_addressing_style) (auto, path or virtual),
        C(role_session_name) (default V(crossaccount-ssm)), C(set_connection) (default true) and
        C(discovery) (default false). The last two take true or false, or the words the top-level
        boolean options take (V(yes), V(no), V(on), V(off), and V("1"), V("0") in quotes).
      - With C(discovery) true, DescribeInstanceInformation is called in every account-region that
        has instances (same pool, the discovery role needs ssm:DescribeInstanceInformation). Hosts
        get C(ssm_ping_status) (V(Online), V(ConnectionLost), V(Inactive) or V(NotManaged)) and
        C(crossaccount_ssm_online), and the online ones join group V(ssm_online). A failed call is a
        warning and a C(crossaccount_errors) entry; those hosts stay, without C(ssm_ping_status).
      - The session role's credentials are obtained in memory when a play connects, never stored.
        See the README section "Running playbooks across accounts" and docs/iam.md.
    type: dict
    version_added: "1.1.0"
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

# hostnames in amazon.aws.aws_ec2's grammar: the Name tag, else "Role_web" when tag Role is web,
# else "<Environment tag>-<private IP>", else the instance id (refused or duplicate names: see hostnames)
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["111111111111", "222222222222"]
hostnames:
  - tag:Name
  - tag:Role=web
  - name: private-ip-address
    prefix: tag:Environment
    separator: "-"
  - instance-id

# accounts from AWS Organizations, through a role in the management account, plus a list file
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts_file: accounts.yml
organization:
  role_arn: arn:aws:iam::111111111111:role/OrgAccountLister
  exclude_ous: [ou-ab12-sandbox1]
regions: [us-east-1, eu-west-1]
default_groups: [account, region]   # no name_ groups: thousands of accounts, mostly unique Names

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

# every instance reachable over SSM Session Manager with each account's own session role
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
organization: {}
ssm:
  role_name: AnsibleSessionManager
  bucket_name: example-ansible-ssm
  discovery: true

# aws_ec2's include_filters / exclude_filters and hostvars_prefix, across accounts
plugin: crossaccount.aws.ec2
role_name: CMDBDiscovery
accounts: ["111111111111", "222222222222"]
regions: [us-east-1, us-west-1]
include_filters:
  - tag:Name: [my_second_tag]
  - tag:Name: [my_third_tag]
exclude_filters:
  - tag:Name: [my_first_tag]
hostvars_prefix: aws_
keyed_groups:
  - key: aws_placement.region
    prefix: aws_region
  - key: aws_ec2_tags.Role | default('none')
    prefix: role
"""

import dataclasses  # noqa: E402
import os  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.crossaccount.aws.plugins.module_utils import hostnames as hhelp  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils import validation  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.accounts import resolve_accounts  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import host_variables  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.errors import (  # noqa: E402
    ConfigError,
    CrossAccountError,
    StrictErrorsFailure,
    failure_line,
    split_controller_failures,
    strict_errors_message,
    summary_lines,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.hostnames import choose_hostnames  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.hosts import default_groups  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot import (  # noqa: E402
    Snapshot,
    fingerprint,
    region_scope,
    run_vars,
)
from ansible_collections.crossaccount.aws.plugins.module_utils.values import plain  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.plugin_utils.inventory import (  # noqa: E402
    OneLineParserError,
    ProgressReporter,
    any_unparsed_is_failed,
    botocore_data_path,
    configured_plugin,
    freeze_heap_at_exit,
    gc_frozen,
    host_variables_setter,
    load_settings,
    plugin_names,
    source_names,
)

if TYPE_CHECKING:  # snapshot_cache.py is imported only when the cache is used
    from collections.abc import Iterator

    from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot_cache import Decoded

display = Display()

# From this many name_ groups in one source, a run whose file leaves default_groups out is told
# what they cost: ansible-core links every group under `all` through a list check, 1.6 s at
# 10,000 groups (ansible-core alone) and 82 s of a 137.7 s profiled 5,000-account run (45,000
# groups) on the 2-core VM (docs/scaling.md).
MANY_NAME_GROUPS = 10_000


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "crossaccount.aws.ec2"

    def verify_file(self, path: str) -> bool:
        """A file named *ec2.yml/*ec2.yaml, unless its ``plugin:`` names another plugin (an
        amazon.aws.aws_ec2 file such as x.aws_ec2.yml is left to that plugin). A file with no
        ``plugin:`` is taken, so that parse() names the missing key (a plain YAML inventory of that
        name is still read by the yaml plugin when it is enabled: ansible-core shows a plugin's
        failure only when no plugin could parse the source)."""
        if not (super().verify_file(path) and path.endswith(("ec2.yml", "ec2.yaml"))):
            return False
        from ansible.parsing.dataloader import DataLoader

        readable, name = configured_plugin(self.loader or DataLoader(), path)
        # no plugin: at all (a misspelt key, plugn:) is ours to refuse in one line naming plugin; declined,
        # ansible-core said only "Unable to parse" when this plugin is the one enabled
        return not readable or name is None or name in plugin_names(self)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        freeze_heap_at_exit()  # in ansible-inventory, its exit does not walk the heap again (~0.2 s)
        try:
            with gc_frozen():  # the collector does not walk ansible-core's start-up heap again
                settings = _with_ssm(self, load_settings(self, path))
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
        fp = fingerprint(
            attributes=settings.scan.attributes,
            filters=settings.scan.query_fingerprint(),
            **_ssm_fingerprint(settings),
            **_identity_fingerprint(settings),
        )
        scope = fingerprint(scope=settings.scope())
        cache_key = self.get_cache_key(path)
        user_cache_setting = self.get_option("cache")
        previous = None
        if user_cache_setting:
            cached = self._read_cache(cache_key, path)
            previous = cached.snapshot if cached is not None else None
            # cache=False (--flush-cache, a refresh): scan, with the previous snapshot for stale-if-error;
            # a damaged snapshot is never served, only its readable entries are used for stale-if-error
            if cache and previous is not None and cached.servable and previous.serves(fp, scope):
                display.vv("crossaccount.aws.ec2: inventory served from the cache")
                return previous
        snapshot = self._scan(settings, fp, scope, previous)
        if user_cache_setting:
            from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot_cache import encode_for_cache

            self._cache[cache_key] = encode_for_cache(snapshot)
        return snapshot

    def _read_cache(self, cache_key: str, path: str) -> Decoded | None:
        """This source's cached snapshot, read once; None when there is none or it cannot be read.

        A damaged entry never fails the run and never costs the other entries of the cache: it is
        ignored with one warning, every account is scanned, and the entry is written again at the
        end of the run. The cache is never flushed here (several inventory files may share one
        cache_connection, each with its own stale-if-error data)."""
        try:
            value = self._cache[cache_key]
        except KeyError:
            if self._cache_holds(cache_key):  # e.g. a file holding {}: core's wrapper finds no payload
                display.warning(
                    f"crossaccount.aws.ec2: the inventory cache entry of {path} ({cache_key}) cannot be read "
                    "(it holds no value); it is ignored: every account is scanned and the entry is written again"
                )
            return None
        except Exception as exc:  # noqa: BLE001 - whatever the cache plugin or ansible-core's decoder raises
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            display.warning(
                f"crossaccount.aws.ec2: the inventory cache entry of {path} ({cache_key}) cannot be read "
                f"({type(exc).__name__}: {reason}); it is ignored: every account is scanned and the entry "
                "is written again"
            )
            return None
        from ansible_collections.crossaccount.aws.plugins.module_utils.snapshot_cache import decode_cached

        decoded = decode_cached(value)
        if decoded.foreign:
            display.v(f"crossaccount.aws.ec2: the inventory cache entry of {path} is of {decoded.foreign}; not used")
        elif decoded.problems:
            kept = len(decoded.snapshot.entries) if decoded.snapshot is not None else 0
            display.warning(
                f"crossaccount.aws.ec2: the inventory cache entry of {path} ({cache_key}) is damaged: "
                + "; ".join(decoded.problems)
                + "; every account is scanned and the entry is written again"
                + (f" ({kept} readable account-region entries still keep their hosts if they fail now)" if kept else "")
            )
        return decoded

    def _cache_holds(self, cache_key: str) -> bool:
        """Whether the cache plugin has an unexpired entry under ``cache_key`` (private interface:
        the ``_plugin`` of ansible-core's CachePluginAdjudicator, guarded by a unit test)."""
        plugin = getattr(self._cache, "_plugin", None)
        if plugin is None or not getattr(plugin, "_persistent", False):
            return False
        try:
            return bool(plugin.contains(cache_key))
        except Exception:  # noqa: BLE001 - only used to word a warning
            return False

    def _scan(self, settings, fp: str, scope: str, previous: Snapshot | None) -> Snapshot:
        from ansible_collections.crossaccount.aws.plugins.module_utils import processes
        from ansible_collections.crossaccount.aws.plugins.module_utils.credentials import AwsContext
        from ansible_collections.crossaccount.aws.plugins.module_utils.scanner import (
            refuse_repeated_instances,
            scan,
            utc_now,
        )

        started = utc_now()
        data_path = botocore_data_path()
        ctx = AwsContext(**dataclasses.asdict(settings.client), data_path=data_path)
        ctx.source_credentials()
        accounts, account_failures = resolve_accounts(ctx, settings.accounts, log=display.v)
        n, why = processes.process_count(settings.scan.processes, len(accounts), settings.scan.max_workers)
        reporter = ProgressReporter()
        if n == 1:
            if settings.scan.processes > 1:
                display.v(f"crossaccount.aws.ec2: scan_processes: {settings.scan.processes} not used: {why}")
            result = scan(ctx, settings.scan, accounts, on_progress=reporter)
        else:
            display.v(f"crossaccount.aws.ec2: scanning {len(accounts)} accounts in {n} processes ({why})")
            # the controller's credentials as resolved once, frozen: a child never resolves them again
            # (no second MFA prompt, credential_process run or metadata call)
            source = ctx.frozen_source_credentials()

            def scan_part(part, index):
                workers = processes.workers_per_process(settings.scan.max_workers, n, index)
                part_settings = dataclasses.replace(settings.scan, max_workers=workers)
                progress = ProgressReporter(f"process {index}/{n}")
                if index == 1:
                    return scan(ctx, part_settings, part, on_progress=progress)
                # a forked child: its own botocore session and clients, no connection of the parent's
                own = AwsContext(**dataclasses.asdict(settings.client), data_path=data_path, source=source)
                return scan(own, part_settings, part, on_progress=progress)

            result = processes.scan_split(accounts, n, scan_part)
        refuse_repeated_instances(result)  # an instance id two account-regions list: both answers are doubtful
        # (and one that the data kept stale for a failed account-region holds: Snapshot.build)
        snapshot = Snapshot.build(
            result,
            fingerprint=fp,
            scope=scope,
            scanned_at=started,
            previous=previous,
            accounts=accounts,
            account_failures=account_failures,
            shard=settings.accounts.shard,
            excluded_accounts=settings.accounts.organization.exclude_accounts if settings.accounts.organization else (),
            in_scope=region_scope(
                {a.id: a.regions for a in accounts}, settings.scan.regions, settings.scan.exclude_regions
            ),
        )
        reporter.done(result.progress)
        return snapshot

    # -- inventory ------------------------------------------------------------------------------

    def _populate(self, settings, snapshot: Snapshot) -> None:
        """Hosts and groups, kept apart (module_utils/hostnames.py chooses the names).

        Group names win: every group the inventory already has and every group this source
        creates (default groups, and compose/groups/keyed_groups evaluated first on a scratch
        inventory) is reserved before any host is named, so no host name can equal a group and
        no group can capture a host, whatever order sources and groups are added in. A group
        this source would create that equals a host of another source or a controller name is
        not created, with a warning."""
        # STS refusing the controller's own credentials: one line for every account it stopped
        controller, errors = split_controller_failures(snapshot.errors)
        for line in summary_lines(controller):
            display.warning(f"crossaccount.aws.ec2: {line}")
        for error in errors:
            line = failure_line(error)
            kept = snapshot.stale_for(error)
            if kept:
                line += f" (kept {kept.hosts} host(s) from the scan of {kept.since}, marked crossaccount_stale)"
            display.warning(f"crossaccount.aws.ec2: {line}")
        records = list(snapshot.records())
        _start_ssm_broker(settings, records)
        # what compose/groups/keyed_groups and the host see: hostvars_prefix/suffix applied (aws_ec2_compat)
        output = settings.output
        published = [host_variables(r, output.hostvars_prefix, output.hostvars_suffix) for r in records]
        inventory = self.inventory
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        constructing = bool(compose or groups or keyed_groups)
        # names the files of this plugin's sources fix, reserved whether or not they have members
        # this run (a group left empty by a failed account still means that group)
        seen = source_names(inventory)
        configured, starts = self._configured_group_names(settings)
        seen.groups |= configured
        seen.starts |= starts
        tag_starts = tuple(sorted(seen.starts))
        own_groups = set(seen.groups)
        for record in records:
            # every kind, made or not (default_groups): no host name depends on the option (and
            # no host name starts like a default group at all: hostnames.unsafe_reason)
            own_groups.update(default_groups(record))
            if settings.ssm is not None:
                own_groups.update(_ssm_groups(record, settings))
        # groups a templated parent_group (a name from host data) must not take a keyed group into:
        # what AWS data, the files or other sources fix (a tag would add its hosts to them)
        fixed_parents = self._fixed_parent_groups()
        not_for_templates = (own_groups | set(inventory.groups)) - set(fixed_parents)
        existing_hosts = set(inventory.hosts)

        def choose(group_names):
            return choose_hostnames(
                records,
                settings.output.hostnames,
                groups=group_names,
                hosts=existing_hosts,
                same_instance=lambda name, record: _same_instance(inventory, name, record),
                tag_starts=tag_starts,
                rivals={h: claim for h, (claim, _account) in seen.claims.items() if h in existing_hosts},
            )

        naming = choose(set(inventory.groups) | own_groups)
        tentative = naming.names
        first = None
        if constructing:
            first = self._construct(tentative, published)
            # groups the guard refuses whatever the hosts (instance ids, controller names) reserve nothing
            own_groups |= {
                g for g in first.groups if g not in hhelp.RESERVED_GROUPS and not hhelp.unsafe_group_reason(g)
            }
        # hosts of earlier sources now named like a group of this file, or (from tags) like its keyed groups
        clashing = {h: "the name of a group of this source" for h in own_groups & existing_hosts}
        for host, (claim, _account) in seen.claims.items():
            if claim.tagged and tag_starts and host.startswith(tag_starts) and host in existing_hosts:
                clashing.setdefault(host, "starts like a keyed group of this source")
        evicted = self._evict(clashing)
        if evicted or own_groups.intersection(tentative):  # a constructed group took a name: choose again
            existing_hosts = set(inventory.hosts)
            naming = choose(set(inventory.groups) | own_groups)
        scratch = {}  # index -> (scratch inventory, the host's name there)
        if first is not None:
            scratch = {i: (first, name) for i, name in enumerate(tentative)}
            moved = [i for i, name in enumerate(tentative) if naming.names[i] != name]
            if moved:  # rare (a tag equal to a constructed group): construct those again under their names
                again = self._construct([naming.names[i] for i in moved], [published[i] for i in moved])
                scratch.update({i: (again, naming.names[i]) for i in moved})
        self._warn_naming(naming)
        self._yield_won_names(naming, records, own_groups)
        existing_hosts = set(inventory.hosts)
        guard = _GroupGuard(set(naming.names) | existing_hosts)
        set_host_variables = host_variables_setter(inventory)  # AWS data: no trust, no walk (plugin_utils)
        name_groups = set()
        for i, (name, record) in enumerate(zip(naming.names, records, strict=True)):
            inventory.add_host(name)
            set_host_variables(name, published[i])
            claim = hhelp.Rival(naming.tagged[i], hhelp.first_launch(record), str(record["instance_id"]))
            seen.claims[name] = (claim, str(record.get("account_id", "")))
            if settings.ssm is not None:
                _add_ssm(inventory, name, record, settings, guard)
            for group in default_groups(record, output.default_groups):
                if guard.allows(group):
                    inventory.add_group(group)
                    inventory.add_host(name, group=group)
                    if group.startswith("name_"):
                        name_groups.add(group)
            if i in scratch:
                source, there = scratch[i]
                host = source.hosts[there]
                if compose:
                    composed = host.get_vars()
                    for var in compose:
                        if var in composed:
                            inventory.set_variable(name, var, composed[var])
                for group in _own_groups(host):  # parent_group ancestors come as groups of groups below
                    if group.name not in hhelp.RESERVED_GROUPS and guard.allows(group.name):
                        inventory.add_group(group.name)
                        inventory.add_host(name, group=group.name)
        unlinked: dict[str, int] = {}
        for source in {id(s): s for s, _name in scratch.values()}.values():
            for group in source.groups.values():  # keyed_groups' parent_group: groups of groups
                for child in group.child_groups:
                    if group.name in hhelp.RESERVED_GROUPS or child.name in hhelp.RESERVED_GROUPS:
                        continue
                    if group.name in fixed_parents:
                        starts = fixed_parents[group.name]
                        refused = starts is not None and not child.name.startswith(tuple(starts))
                    else:
                        refused = group.name in not_for_templates or group.name.startswith(hhelp.DEFAULT_GROUP_PREFIXES)
                    if refused:
                        unlinked[group.name] = unlinked.get(group.name, 0) + 1
                        continue
                    if guard.allows(group.name) and guard.allows(child.name):
                        inventory.add_group(group.name)
                        inventory.add_group(child.name)
                        inventory.add_child(group.name, child.name)
        for line in guard.lines():
            display.warning(f"crossaccount.aws.ec2: {line}")
        for parent, count in sorted(unlinked.items()):
            display.warning(
                f"crossaccount.aws.ec2: group {hhelp.shown(parent)} not made the parent of {count} keyed group(s): "
                "the name comes from a keyed_groups parent_group template (host data) and is a group that AWS data, "
                "the inventory files or another source fix (account_/region_/name_ default groups, groups keys, "
                "another source's groups); write parent_group as a fixed name"
            )
        if len(name_groups) >= MANY_NAME_GROUPS and not output.default_groups_written:
            display.warning(
                f"crossaccount.aws.ec2: {inventory.current_source}: {len(name_groups)} name_ groups (one per "
                "distinct sanitised Name tag) slow down every ansible-inventory and ansible-playbook run, cached "
                "ones too: ansible-core's handling of groups grows with the square of their number (~90 s more per "
                "run at 40,000 on 2 cores); write default_groups: [account, region] if no play, --limit or job "
                "template limit uses name_ groups, or default_groups: [account, region, name] to keep them without "
                "this warning (see default_groups in ansible-doc -t inventory crossaccount.aws.ec2)"
            )
        for var, value in run_vars(plain(inventory.groups["all"].get_vars()), snapshot).items():
            inventory.set_variable("all", var, value)

    def _configured_group_names(self, settings) -> tuple[set[str], set[str]]:
        """Group names this file fixes whatever the hosts: the ``groups`` keys, each
        ``keyed_groups`` entry's ``parent_group`` that is not a template, and ``ssm_online`` with
        SSM discovery on; and the start (prefix and separator, as ansible-core joins them) of each
        ``keyed_groups`` entry's group names. Both as written and sanitised."""
        from ansible.inventory.group import to_safe_group_name

        names: set[str] = set()
        starts: set[str] = set()
        for key in self.get_option("groups") or {}:
            names |= {str(key), to_safe_group_name(str(key), silent=True)}
        for start, parents in self._keyed_entries():
            starts |= start or set()  # bare values: no start to reserve
            names |= set(parents)
        if settings.ssm is not None and settings.ssm.discovery:
            from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import ONLINE_GROUP

            names.add(ONLINE_GROUP)
        return names, starts

    def _fixed_parent_groups(self) -> dict[str, set[str] | None]:
        """The ``keyed_groups`` ``parent_group`` names this file writes out (not templates), as
        written and sanitised, each with the starts of the keyed groups its entries make (None when
        an entry's names are the bare values). A keyed group is made a child of such a group
        whatever its name, if it is one of those entries' groups: a templated parent_group of
        another entry that renders the same name takes no keyed group into it."""
        fixed: dict[str, set[str] | None] = {}
        for start, parents in self._keyed_entries():
            for name in parents:
                known = fixed.get(name, set())
                fixed[name] = None if start is None or known is None else known | start
        return fixed

    def _keyed_entries(self) -> Iterator[tuple[set[str] | None, tuple[str, ...]]]:
        """For each ``keyed_groups`` entry: the start of its group names (prefix and separator as
        ansible-core joins them; None when the names are the values themselves, with no prefix and
        no leading separator) and its ``parent_group`` when written out, not a template (empty
        otherwise); both as written and sanitised."""
        from ansible.inventory.group import to_safe_group_name

        leading = self.get_option("leading_separator")
        for keyed in self.get_option("keyed_groups") or []:
            if not isinstance(keyed, dict):
                continue
            prefix, sep = keyed.get("prefix", ""), keyed.get("separator", "_")
            joined = f"{prefix}{sep}"
            bare = (prefix == "" and leading is False) or not joined
            start = None if bare else {joined, to_safe_group_name(joined, silent=True)}
            parent = keyed.get("parent_group")
            written = isinstance(parent, str) and parent and not validation.is_template(parent)
            parents = tuple(dict.fromkeys((parent, to_safe_group_name(parent, silent=True)))) if written else ()
            yield start, parents

    def _construct(self, names, records):
        """compose, groups and keyed_groups evaluated with ansible-core's own Constructable code
        on a scratch InventoryData: the groups they create are known before any host is named,
        and each expression is still evaluated once per host. They see the variables aws_ec2's
        see (aws_ec2_compat.constructed_variables: not this plugin's default ansible_host)."""
        from ansible.inventory.data import InventoryData

        from ansible_collections.crossaccount.aws.plugins.module_utils.aws_ec2_compat import constructed_variables

        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        real = self.inventory
        scratch = InventoryData()
        scratch.current_source = real.current_source  # inventory_file and inventory_dir as in the real one
        self.inventory = scratch
        try:
            for name, record in zip(names, records, strict=True):
                scratch.add_host(name)
                host = scratch.hosts[name]
                record = constructed_variables(record)
                for var, value in record.items():
                    host.set_variable(var, value)
                if compose:
                    self._set_composite_vars(compose, record, name, strict=strict)
                if groups:
                    self._add_host_to_composed_groups(groups, record, name, strict=strict)
                if keyed_groups:
                    self._add_host_to_keyed_groups(keyed_groups, record, name, strict=strict)
        finally:
            self.inventory = real
        return scratch

    def _evict(self, names) -> list[str]:
        """Hosts of an earlier source of this plugin whose tag-given name is a group this source
        creates (or starts like one of its keyed groups) are renamed to their instance id, so that
        the group keeps meaning the group whatever the order of the sources (a host of another
        plugin is left alone; the group is then not created, see _GroupGuard). ``names``: host
        name -> why."""
        inventory = self.inventory
        done = []
        claims = source_names(inventory).claims
        for name in sorted(names):
            if name not in claims:  # not a host this plugin named
                continue
            rival, account = claims[name]
            iid = rival.instance_id
            if iid == name:
                continue
            new = self._free_name((iid, f"{iid}_{account}"), iid)
            if new is None:
                continue
            self._rename(name, new)
            display.warning(
                f"crossaccount.aws.ec2: instance {iid} of account {account}: hostname {name!r} "
                f"given by an earlier source refused ({names[name]}); the host is named {new}"
            )
            done.append(name)
        return done

    def _free_name(self, names, iid: str, taken=frozenset()) -> str | None:
        """The first of ``names`` that no host or group of the inventory (nor ``taken``) has and
        that is a safe name for instance ``iid``; None when there is none."""
        inventory = self.inventory
        for new in names:
            if (
                new not in inventory.hosts
                and new not in inventory.groups
                and new not in taken
                and hhelp.unsafe_reason(new, iid) is None
            ):
                return new
        return None

    def _rename(self, name: str, new: str) -> None:
        """Host ``name`` of an earlier source of this plugin becomes ``new``, with its variables
        and groups (ansible-core has no rename: removed and added again)."""
        inventory = self.inventory
        host = inventory.hosts[name]
        # its own groups only: InventoryData.remove_host visits every group of the inventory (tens
        # of thousands at organisation scale)
        direct = _own_groups(host)
        groups = [g.name for g in direct if g.name not in hhelp.RESERVED_GROUPS]
        variables = dict(host.vars)
        for group in direct:
            group.remove_host(host)
        del inventory.hosts[name]
        inventory.add_host(new)
        for var, value in variables.items():
            inventory.set_variable(new, var, value)
        for group in groups:
            inventory.add_host(new, group=group)
        claims = source_names(inventory).claims
        if name in claims:
            claims[new] = claims.pop(name)

    def _yield_won_names(self, naming, records, own_groups) -> None:
        """Hosts of earlier sources of this plugin whose name an instance of this source takes
        (choose_hostnames' contest: names AWS gives before tag-given ones, then the longest-running
        instance) are renamed as a loser within one source is: NAME_<instance id> (the instance id
        when a tag-given name yields to a name AWS gives), else the instance id, else
        <instance id>_<account id>."""
        inventory = self.inventory
        claims = source_names(inventory).claims
        taken = set(naming.names) | own_groups
        for name, index in sorted(naming.won.items()):
            rival, account = claims[name]
            iid = rival.instance_id
            from_aws = rival.tagged and not naming.tagged[index]  # a tag yields a name AWS gives: no NAME_<id>
            wanted = ((iid,) if from_aws else (f"{name}_{iid}", iid)) + (f"{iid}_{account}",)
            # ids are unique and safe; kept apart from groups by _GroupGuard
            new = self._free_name(wanted, iid, taken) or f"{iid}_{account}"
            self._rename(name, new)
            record = records[index]
            why = "the name AWS gives it" if from_aws else "launched earlier"
            display.warning(
                f"crossaccount.aws.ec2: instance {iid} of account {account}: hostname {name!r} given by an "
                f"earlier source goes to instance {record['instance_id']} of account {record.get('account_id')} "
                f"({why}); the host is named {new}"
            )

    def _warn_naming(self, naming) -> None:
        for refusal in naming.refusals:
            display.warning(f"crossaccount.aws.ec2: {refusal.line()}")
        for name, ids in sorted(naming.collisions.items()):
            display.warning(
                f"crossaccount.aws.ec2: {len(ids) + 1} instances want the hostname '{name}'; "
                f"the longest-running keeps it, the others are named {name}_<instance id> ({', '.join(ids)})"
            )
        for index, written in naming.unmatched:
            display.warning(
                f"crossaccount.aws.ec2: hostnames[{index}] {written!r} gave a name to no instance; "
                "check its spelling (hosts fell back to the next source, else to the instance id)"
            )
        for where, written, item in naming.unmatched_tag_items:
            display.warning(
                f"crossaccount.aws.ec2: {where} {written!r}: item {item!r} matched no instance; check its "
                "spelling (the other items of the list named the hosts)"
            )
        for index, written in naming.unmatched_prefixes:
            display.warning(
                f"crossaccount.aws.ec2: hostnames[{index}].prefix {written!r} gave a value for no instance; "
                "check its spelling (the names of that entry were given without the prefix, as aws_ec2 does "
                "for an instance that lacks it)"
            )

    def _raise_if_strict(self, settings, snapshot: Snapshot) -> None:
        if settings.output.strict_errors and snapshot.errors:
            if self.get_option("cache"):
                self.update_cache_if_changed()  # core does it only after a parse that did not raise
            raise StrictErrorsFailure(strict_errors_message(snapshot.errors, any_unparsed_is_failed()))


# -- ssm (issue 12): kept apart from the parse flow so it merges easily ------------------------


def _with_ssm(plugin, settings):
    """The ssm option (validated by ssm.parse_ssm) added to the settings; its discovery flag to
    the scan stage."""
    value = plain(plugin.get_option("ssm"))
    if value is None:  # ssm.py is imported only when used (ansible-core compiles it at every run)
        return settings
    from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import parse_ssm

    ssm = parse_ssm(value)
    scan = dataclasses.replace(settings.scan, ssm_discovery=ssm.discovery)
    return dataclasses.replace(settings, ssm=ssm, scan=scan)


def _ssm_fingerprint(settings) -> dict:
    """SSM discovery adds data to the records: a cached snapshot made without it is not served."""
    return {"ssm_discovery": True} if settings.ssm is not None and settings.ssm.discovery else {}


def _identity_fingerprint(settings) -> dict:
    """Organizations discovery lists the accounts its identity sees: a cached snapshot made by
    another profile or organization.role_arn is neither served nor used for stale data
    (Settings.discovery_identity; names only, never keys). Nothing without organization, so the
    cache of such files stays valid."""
    identity = settings.discovery_identity(os.environ)
    return {"discovery_identity": list(identity)} if identity is not None else {}


def _own_groups(host) -> list:
    """The groups ``host`` was added to itself: ansible-core's ``Host.get_groups()`` also lists
    every ancestor of them (a keyed_groups ``parent_group``), which the host is not a member of."""
    return [group for group in host.get_groups() if host.name in group.host_names]


def _start_ssm_broker(settings, records) -> None:
    """In ansible-playbook, the connection plugin's workers get session credentials from this
    (main) process, so each session role is assumed about once per run (ssm_credentials.py),
    with the profile, sts_region and duration_seconds of the source that lists its account."""
    if settings.ssm is None:
        return
    from ansible_collections.crossaccount.aws.plugins.module_utils.ssm_credentials import start_broker

    client = settings.client
    partition = settings.accounts.partition
    roles = {settings.ssm.role_arn(partition, str(r["account_id"])) for r in records}
    if not start_broker(
        profile=client.profile,
        sts_region=client.sts_region,
        duration_seconds=client.duration_seconds,
        role_arns=sorted(roles),
    ):
        display.vv("crossaccount.aws.ec2: no SSM credential broker here; each connection assumes its role itself")


def _ssm_groups(record, settings) -> list[str]:
    from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import ssm_groups

    return ssm_groups(record, settings.ssm)


def _add_ssm(inventory, name: str, record, settings, guard) -> None:
    from ansible_collections.crossaccount.aws.plugins.module_utils.ssm import ssm_host_vars

    for var, value in ssm_host_vars(record, settings.ssm, settings.accounts.partition).items():
        inventory.set_variable(name, var, value)
    for group in _ssm_groups(record, settings):
        if guard.allows(group):
            inventory.add_group(group)
            inventory.add_host(name, group=group)


def _same_instance(inventory, name: str, record) -> bool:
    """Whether the host ``name`` another source added is this very instance (two sources that
    overlap): then it keeps its name and ansible-core merges the two, as for any host. Read from
    what this plugin remembers of the hosts it named (not their variables, which
    hostvars_prefix/suffix rename)."""
    claim = source_names(inventory).claims.get(name)
    if claim is None or name not in inventory.hosts:
        return False
    rival, account = claim
    return rival.instance_id == str(record.get("instance_id")) and account == str(record.get("account_id", ""))


class _GroupGuard:
    """Groups this source creates never take a host's name or a name of the controller."""

    def __init__(self, host_names) -> None:
        self._hosts = host_names
        self._verdicts: dict[str, str | None] = {}
        self._refused: dict[str, int] = {}

    def allows(self, group: str) -> bool:
        if group not in self._verdicts:
            reason = hhelp.unsafe_group_reason(group)
            if reason is None and group in self._hosts:
                reason = "the name of a host"
            self._verdicts[group] = reason
        if self._verdicts[group] is None:
            return True
        self._refused[group] = self._refused.get(group, 0) + 1
        return False

    def lines(self) -> list[str]:
        return [
            f"group {hhelp.shown(group)} not created: it is {self._verdicts[group]}, and a host pattern naming it must "
            f"keep meaning that host, never the members of a group ({count} membership(s) dropped)"
            for group, count in sorted(self._refused.items())
        ]
