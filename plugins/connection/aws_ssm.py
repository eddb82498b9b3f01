# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection plugin crossaccount.aws.aws_ssm: amazon.aws.aws_ssm with the session role of each
host's own account, assumed in memory by the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_ssm
short_description: Reach EC2 instances of many accounts over SSM Session Manager, each with its account's own role
version_added: "1.1.0"
author:
  - crossaccount.aws contributors (@crossaccount)
description:
  - amazon.aws.aws_ssm (Session Manager sessions, files through an S3 bucket) with one addition
    amazon.aws.aws_ssm lacks, the role to assume. Before it connects, the plugin assumes
    O(role_arn) (the session role in the host's own account) with the controller's own
    credentials and hands the role's keys to amazon.aws.aws_ssm in memory.
  - The crossaccount.aws.ec2 inventory sets every variable this plugin reads when its C(ssm)
    option is set (C(ansible_connection), C(crossaccount_ssm_role_arn), C(ansible_aws_ssm_instance_id),
    C(ansible_aws_ssm_region), C(ansible_aws_ssm_bucket_name)). None of them is a secret.
  - Role credentials never become variables, never reach the inventory, its cache, the CMDB export
    or the output (presigned URLs and session tokens are redacted from C(-vvvv) lines and from the
    failure messages of a host, such as amazon.aws.aws_ssm's timeout, which quotes the command).
  - File transfers go through the instance's shell as curl with a presigned URL (the role's access
    key id and session token, valid for one object); the plugin unsets C(HISTFILE) in each session's
    shell (not on Windows) so the instance keeps no such URL in the shell history file.
  - Under ansible-playbook each role is assumed about once per run, by the controller's main
    process, which hands the credentials to the forked workers over a private socket and
    refreshes them before they expire. Without the crossaccount.aws.ec2 inventory in the same
    process (a static inventory, or AWX running a synced inventory) each task of each host assumes
    the role itself. See docs/design.md.
  - Source credentials are the controller's standard boto3 chain (environment, AWS_PROFILE, SSO,
    instance role). When the inventory started the broker, the roles of the accounts a source lists
    are assumed with that source's C(profile), C(sts_region) and C(duration_seconds) (a role two
    sources list uses the first source's).
  - A denied AssumeRole or StartSession makes the host unreachable with the account, the role and
    the AWS error in the message; other hosts are not affected.
requirements:
  - amazon.aws >= 10.0.0 (the collection providing amazon.aws.aws_ssm)
  - boto3 and botocore on the controller
  - the session-manager-plugin binary on the controller
  - curl on the instance (files travel through the S3 bucket with presigned URLs)
options:
  role_arn:
    description:
      - The session role assumed to open the session, normally in the instance's own account
        (arn:PARTITION:iam::ACCOUNT:role/NAME). Set by the crossaccount.aws.ec2 inventory from
        C(ssm.role_name) and the host's account.
    type: str
    vars:
      - name: crossaccount_ssm_role_arn
  role_session_name:
    description: The role session name, shown in CloudTrail and in the session history of each account.
    type: str
    default: crossaccount-ssm
    vars:
      - name: crossaccount_ssm_role_session_name
  access_key_id:
    description: Internal. Set by this plugin from the role credentials; never read from variables or the environment.
    type: str
  secret_access_key:
    description: Internal. Set by this plugin from the role credentials; never read from variables or the environment.
    type: str
  session_token:
    description: Internal. Set by this plugin from the role credentials; never read from variables or the environment.
    type: str
  profile:
    description: Internal. Always unset; source credentials come from the controller's chain.
    type: str
  instance_id:
    description: The EC2 instance ID.
    type: str
    vars:
      - name: ansible_aws_ssm_instance_id
  region:
    description: The region of the instance.
    type: str
    vars:
      - name: ansible_aws_ssm_region
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
    default: us-east-1
  bucket_name:
    description: The name of the S3 bucket used for file transfers.
    type: str
    vars:
      - name: ansible_aws_ssm_bucket_name
  bucket_endpoint_url:
    description: The S3 endpoint URL of the bucket used for file transfers.
    type: str
    vars:
      - name: ansible_aws_ssm_bucket_endpoint_url
  plugin:
    description:
      - Path of the session-manager-plugin binary (default /usr/local/bin/session-manager-plugin,
        else found on PATH).
    type: str
    vars:
      - name: ansible_aws_ssm_plugin
    env:
      - name: AWS_SESSION_MANAGER_PLUGIN
  reconnection_retries:
    description: Number of attempts to connect.
    default: 3
    type: integer
    vars:
      - name: ansible_aws_ssm_retries
  ssm_timeout:
    description: Connection timeout seconds.
    default: 60
    type: integer
    vars:
      - name: ansible_aws_ssm_timeout
  bucket_sse_mode:
    description: Server-side encryption mode to use for uploads on the S3 bucket used for file transfer.
    type: str
    choices: ['AES256', 'aws:kms']
    vars:
      - name: ansible_aws_ssm_bucket_sse_mode
  bucket_sse_kms_key_id:
    description: KMS key id to use when encrypting objects using C(bucket_sse_mode=aws:kms). Ignored otherwise.
    type: str
    vars:
      - name: ansible_aws_ssm_bucket_sse_kms_key_id
  ssm_document:
    description: SSM Session document to use when connecting.
    type: str
    vars:
      - name: ansible_aws_ssm_document
  s3_addressing_style:
    description: The addressing style to use when using S3 URLs.
    type: str
    choices: ['path', 'virtual', 'auto']
    default: auto
    vars:
      - name: ansible_aws_ssm_s3_addressing_style
"""

EXAMPLES = r"""
# cmdb.ec2.yml -- the inventory sets every variable this plugin needs
# plugin: crossaccount.aws.ec2
# role_name: CMDBDiscovery
# organization: {}
# ssm:
#   role_name: AnsibleSessionManager
#   bucket_name: example-ansible-ssm
#
# ansible-playbook -i cmdb.ec2.yml site.yml --limit 'account_222222222222:&region_eu_west_1'
- name: Patch the development instances in eu-west-1
  hosts: all
  gather_facts: false
  tasks:
    - name: Who am I
      ansible.builtin.command: id
"""

import contextlib  # noqa: E402
import re  # noqa: E402
from urllib.parse import quote  # noqa: E402

from ansible.errors import AnsibleConnectionFailure, AnsibleError  # noqa: E402
from ansible.module_utils.common.text.converters import to_text  # noqa: E402
from ansible_collections.amazon.aws.plugins.connection.aws_ssm import Connection as AwsSsmConnection  # noqa: E402

from ansible_collections.crossaccount.aws.plugins.module_utils.errors import error_code_and_message, scrub  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.ssm_credentials import (  # noqa: E402
    ROLE_ARN_RE,
    SessionCredentialsError,
    session_credentials,
)

# What amazon.aws.aws_ssm prints at -vvvv that carries a credential: presigned URLs (the token and
# the signature in the query string) and the StartSession answer handed to session-manager-plugin.
_SECRET_FIELDS = re.compile(
    r"(?i)((?:X-Amz-Security-Token|X-Amz-Signature|X-Amz-Credential|AWSAccessKeyId|Signature)=)[^&'\"\s]+"
)
_TOKEN_VALUE = re.compile(r"(\"TokenValue\":\s*\")[^\"]*(\")")


class Connection(AwsSsmConnection):
    """amazon.aws.aws_ssm, connecting with the session role of the host's own account."""

    transport = "crossaccount.aws.aws_ssm"

    def __init__(self, *args, **kwargs) -> None:
        self._secret_values: tuple[str, ...] = ()
        super().__init__(*args, **kwargs)

    # -- credentials ------------------------------------------------------------------------------

    def _where(self) -> str:
        role_arn = self.get_option("role_arn") or ""
        match = ROLE_ARN_RE.fullmatch(role_arn)
        account = match.group(2) if match else "unknown"
        return (
            f"instance {self.get_option('instance_id') or self.host} in account {account} "
            f"region {self.get_option('region')} with role {role_arn or '(none)'}"
        )

    def _load_role_credentials(self) -> None:
        role_arn = self.get_option("role_arn")
        if not role_arn:
            raise AnsibleConnectionFailure(
                f"crossaccount.aws.aws_ssm: no session role for host {self.host}: set ssm.role_name in the "
                "crossaccount.aws.ec2 inventory, or the crossaccount_ssm_role_arn variable"
            )
        try:
            creds = session_credentials(role_arn, self.get_option("role_session_name") or "crossaccount-ssm")
        except SessionCredentialsError as exc:
            raise AnsibleConnectionFailure(
                f"crossaccount.aws.aws_ssm: cannot assume the session role for {self._where()}: "
                f"AssumeRole: {exc.code}: {exc.message}"
            ) from None
        self.set_option("access_key_id", creds["access_key"])
        self.set_option("secret_access_key", creds["secret_key"])
        self.set_option("session_token", creds["token"])
        self.set_option("profile", None)
        values = [v for v in (creds["access_key"], creds["secret_key"], creds["token"]) if v]
        self._secret_values = tuple(values + [quote(v, safe="") for v in values])

    # -- amazon.aws.aws_ssm hooks -------------------------------------------------------------------

    def _connect(self):
        if self.session_manager is not None:
            return self
        self._load_role_credentials()
        try:
            return super()._connect()
        except Exception as exc:  # noqa: BLE001 - StartSession denied, bucket missing, plugin failed
            self._abandon()
            code, message = error_code_and_message(exc)
            raise AnsibleConnectionFailure(
                f"crossaccount.aws.aws_ssm: cannot open a session to {self._where()}: "
                f"{code}: {self._redact(' '.join(to_text(message).split()))[:400]}"
            ) from None

    def start_session(self) -> None:
        # also reached through reset() (wait_for_connection, meta: reset_connection) without
        # _connect: never let aws_ssm fall back to the controller's own credentials
        if not self._secret_values:
            self._load_role_credentials()
        super().start_session()
        if self.session_manager is not None and not self.is_windows:
            # File transfers type curl with a presigned URL (the role's access key id and session
            # token) into this interactive shell: keep it out of the shell's history file on the
            # instance. No output (echo and prompt are off); aws_ssm reads nothing before its marks.
            self.session_manager.stdin_write(b" unset HISTFILE\n")

    def exec_command(self, cmd, in_data=None, sudoable=True):
        # Connect outside amazon.aws.aws_ssm's retry loop: a denied role or session fails the host
        # at once (unreachable) instead of being retried with pauses.
        if self.session_manager is None:
            self._connect()
        with self._redacted_errors():
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)

    def put_file(self, in_path, out_path):
        with self._redacted_errors():
            return super().put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        with self._redacted_errors():
            return super().fetch_file(in_path, out_path)

    def verbosity_display(self, level: int, message: str) -> None:
        super().verbosity_display(level, self._redact(to_text(message)))

    # -- helpers ----------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for value in self._secret_values:
            text = text.replace(value, "[redacted]")
        text = _SECRET_FIELDS.sub(r"\1[redacted]", text)
        text = _TOKEN_VALUE.sub(r"\1[redacted]\2", text)
        return scrub(text)

    @contextlib.contextmanager
    def _redacted_errors(self):
        """amazon.aws.aws_ssm's failures quote the command they ran (its timeout: "EXEC command
        '...' timeout on host"), and a file transfer's command holds a presigned URL: the session
        role's access key id and session token. Such a message becomes the host's failure at any
        verbosity, so it is redacted like the -vvvv lines (same type: unreachable stays unreachable)."""
        try:
            yield
        except Exception as exc:
            text = to_text(exc)
            redacted = self._redact(text)
            if redacted == text:
                raise
            kind = AnsibleConnectionFailure if isinstance(exc, AnsibleConnectionFailure) else AnsibleError
            raise kind(redacted) from None

    def _abandon(self) -> None:
        manager = self.session_manager
        self.session_manager = None
        if manager is not None:
            try:
                manager.terminate()
            except Exception:  # noqa: BLE001 - best effort on a session that never started
                pass
