"""A fast AWS stand-in: STS and EC2 answers keyed by the account of the signing key.

moto costs 8-17 ms of CPU per request: at thousands of calls it measures itself, not the plugin.
This server answers the four calls an inventory scan makes (STS AssumeRole, GetCallerIdentity; EC2
DescribeRegions, DescribeInstances) from pre-rendered XML, in about 0.3 ms of CPU per request, and
its latency is a sleep in the request's own thread (it costs no CPU).

Identity is carried by the keys it hands out: AssumeRole on ``arn:aws:iam::<account>:role/X``
returns an access key id ``ASIA<account><4 hex>`` and a session token that names that key. Every
EC2 answer is about the account of the key that signed the request (the key id in the SigV4
``Authorization`` header); a request whose session token is not the one issued with its key
(credentials of two accounts mixed in one signature) is refused with ``AuthFailure`` and counted
in ``mismatches``. So an instance listed under another account's ``account_id`` can only come from
a request signed with the wrong account's credentials.

Used by bench/bench.py (as a subprocess: ``python -m tests.support.fast_aws --port-file F``) and
by tests/integration/test_shared_clients.py (in-process, ``FastAws().start()``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.support.faults import AWS_ENABLED_REGIONS, OPTED_IN

SOURCE_ACCOUNT = "000000000000"
_SCOPE_RE = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
_ROLE_RE = re.compile(r"^arn:[\w-]+:iam::(\d{12}):role/(.+)$")
_EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def _hex(*parts: object, n: int = 17) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:n]


def instance_xml(account: str, region: str, index: int) -> str:
    """One instance as DescribeInstances returns it (the usual members of a VPC instance)."""
    iid = "i-" + _hex(account, region, index)
    octet3, octet4 = (index // 250) % 250, index % 250 + 4
    private_ip = f"10.{int(account[-2:]) % 250}.{octet3}.{octet4}"
    public_ip = f"54.{int(account[-4:-2]) % 250}.{octet3}.{octet4}"
    az = region + "a"
    eni = "eni-" + _hex("eni", account, region, index)
    vol = "vol-" + _hex("vol", account, region, index)
    subnet = "subnet-" + _hex("subnet", account, region)
    vpc = "vpc-" + _hex("vpc", account, region)
    sg = "sg-" + _hex("sg", account, region)
    private_dns = f"ip-{private_ip.replace('.', '-')}.{region}.compute.internal"
    public_dns = f"ec2-{public_ip.replace('.', '-')}.{region}.compute.amazonaws.com"
    launch = "2026-11-02T08:15:30.000Z"
    state = ("running", 16) if index % 5 else ("stopped", 80)
    return (
        f"<item><instanceId>{iid}</instanceId><imageId>ami-{_hex('ami', region)}</imageId>"
        f"<instanceState><code>{state[1]}</code><name>{state[0]}</name></instanceState>"
        f"<privateDnsName>{private_dns}</privateDnsName><dnsName>{public_dns}</dnsName><reason/>"
        f"<keyName>ops-{region}</keyName><amiLaunchIndex>0</amiLaunchIndex><productCodes/>"
        f"<instanceType>m6i.large</instanceType><launchTime>{launch}</launchTime>"
        f"<placement><availabilityZone>{az}</availabilityZone><groupName/><tenancy>default</tenancy></placement>"
        f"<monitoring><state>disabled</state></monitoring><subnetId>{subnet}</subnetId><vpcId>{vpc}</vpcId>"
        f"<privateIpAddress>{private_ip}</privateIpAddress><ipAddress>{public_ip}</ipAddress>"
        f"<sourceDestCheck>true</sourceDestCheck>"
        f"<groupSet><item><groupId>{sg}</groupId><groupName>web</groupName></item></groupSet>"
        f"<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>"
        f"<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName>"
        f"<ebs><volumeId>{vol}</volumeId><status>attached</status><attachTime>{launch}</attachTime>"
        f"<deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>"
        f"<virtualizationType>hvm</virtualizationType><clientToken/>"
        f"<tagSet><item><key>Name</key><value>web-{account[-4:]}-{region}-{index}</value></item>"
        f"<item><key>env</key><value>{'prod' if index % 2 else 'dev'}</value></item>"
        f"<item><key>team</key><value>payments</value></item></tagSet>"
        f"<hypervisor>xen</hypervisor><networkInterfaceSet><item><networkInterfaceId>{eni}</networkInterfaceId>"
        f"<subnetId>{subnet}</subnetId><vpcId>{vpc}</vpcId><description/><ownerId>{account}</ownerId>"
        f"<status>in-use</status><macAddress>0a:{_hex('mac', iid, n=2)}:00:00:00:01</macAddress>"
        f"<privateIpAddress>{private_ip}</privateIpAddress><privateDnsName>{private_dns}</privateDnsName>"
        f"<sourceDestCheck>true</sourceDestCheck>"
        f"<groupSet><item><groupId>{sg}</groupId><groupName>web</groupName></item></groupSet>"
        f"<attachment><attachmentId>eni-attach-{_hex('att', iid)}</attachmentId><deviceIndex>0</deviceIndex>"
        f"<status>attached</status><attachTime>{launch}</attachTime><deleteOnTermination>true</deleteOnTermination>"
        f"<networkCardIndex>0</networkCardIndex></attachment>"
        f"<association><publicIp>{public_ip}</publicIp><publicDnsName>{public_dns}</publicDnsName>"
        f"<ipOwnerId>amazon</ipOwnerId></association>"
        f"<privateIpAddressesSet><item><privateIpAddress>{private_ip}</privateIpAddress>"
        f"<privateDnsName>{private_dns}</privateDnsName><primary>true</primary></item></privateIpAddressesSet>"
        f"<ipv6AddressesSet/><interfaceType>interface</interfaceType></item></networkInterfaceSet>"
        f"<ebsOptimized>true</ebsOptimized><enaSupport>true</enaSupport>"
        f"<cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>"
        f"<capacityReservationSpecification><capacityReservationPreference>open</capacityReservationPreference>"
        f"</capacityReservationSpecification><hibernationOptions><configured>false</configured></hibernationOptions>"
        f"<metadataOptions><state>applied</state><httpTokens>required</httpTokens>"
        f"<httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint>"
        f"<httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags>"
        f"</metadataOptions><enclaveOptions><enabled>false</enabled></enclaveOptions>"
        f"<bootMode>uefi-preferred</bootMode><platformDetails>Linux/UNIX</platformDetails>"
        f"<usageOperation>RunInstances</usageOperation><usageOperationUpdateTime>{launch}</usageOperationUpdateTime>"
        f"<privateDnsNameOptions><hostnameType>ip-name</hostnameType><enableResourceNameDnsARecord>false"
        f"</enableResourceNameDnsARecord><enableResourceNameDnsAAAARecord>false</enableResourceNameDnsAAAARecord>"
        f"</privateDnsNameOptions><maintenanceOptions><autoRecovery>default</autoRecovery></maintenanceOptions>"
        f"<currentInstanceBootMode>uefi</currentInstanceBootMode></item>"
    )


def _ec2_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error></Errors><RequestID>{_hex(time.monotonic_ns(), n=32)}</RequestID>"
        f"</Response>"
    ).encode()


def _sts_error(code: str, message: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="{_STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}'
        f"</Message></Error><RequestId>{_hex(time.monotonic_ns(), n=32)}</RequestId></ErrorResponse>"
    ).encode()


class FastAws:
    """The server; ``start()`` returns self with ``endpoint`` set, ``stop()`` ends it.

    instances_per_account: instance j of an account lives in ``regions[j % len(regions)]``;
    page_size: DescribeInstances pages (a nextToken per page) when an account-region has more;
    expiration_seconds: lifetime of the credentials AssumeRole hands out (short: forces refreshes);
    throttle_every: every n-th DescribeInstances is throttled (RequestLimitExceeded, HTTP 503), so
    that botocore retries it (and signs it again);
    throttle_accounts: account -> how many of its next DescribeInstances are throttled."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        regions: tuple[str, ...] = AWS_ENABLED_REGIONS,
        instances_per_account: int = 8,
        page_size: int = 1000,
        expiration_seconds: int = 3600,
        throttle_every: int = 0,
        throttle_accounts: dict[str, int] | None = None,
        deny: frozenset[str] = frozenset(),
        port: int = 0,
    ) -> None:
        self.latency = latency_ms / 1000.0
        self.regions = tuple(regions)
        self.instances_per_account = instances_per_account
        self.page_size = page_size
        self.expiration_seconds = expiration_seconds
        self.throttle_every = throttle_every
        self.throttle_accounts = dict(throttle_accounts or {})
        self.deny = frozenset(deny)
        self.calls: Counter = Counter()  # (action, account) -> count
        self.mismatches = 0
        self.throttled = 0
        self.expired = 0
        self._expiry: dict[str, float] = {}  # access key id -> epoch seconds
        self._lock = threading.Lock()
        self._serial = 0
        self._describes = 0
        self._pages: dict[tuple[str, str], list[bytes]] = {}
        self._regions_body = self._render_regions()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- answers --------------------------------------------------------------------------------

    def _render_regions(self) -> bytes:
        items = "".join(
            f"<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint>"
            f"<optInStatus>{'opted-in' if r in OPTED_IN else 'opt-in-not-required'}</optInStatus></item>"
            for r in self.regions
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><DescribeRegionsResponse xmlns="{_EC2_NS}">'
            f"<requestId>{_hex('regions', n=32)}</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
        ).encode()

    def expected_instances(self, account: str) -> dict[str, str]:
        """instance id -> region of every instance of ``account``."""
        return {
            "i-" + _hex(account, self.regions[j % len(self.regions)], j): self.regions[j % len(self.regions)]
            for j in range(self.instances_per_account)
        }

    def _instance_pages(self, account: str, region: str) -> list[bytes]:
        key = (account, region)
        pages = self._pages.get(key)
        if pages is not None:
            return pages
        n = len(self.regions)
        items = [
            instance_xml(account, region, j) for j in range(self.instances_per_account) if self.regions[j % n] == region
        ]
        chunks = [items[i : i + self.page_size] for i in range(0, len(items), self.page_size)] or [[]]
        pages = []
        for number, chunk in enumerate(chunks):
            token = f"<nextToken>page-{number + 1}</nextToken>" if number + 1 < len(chunks) else ""
            reservation = (
                f"<item><reservationId>r-{_hex('r', account, region, number)}</reservationId>"
                f"<ownerId>{account}</ownerId><groupSet/><instancesSet>{''.join(chunk)}</instancesSet></item>"
                if chunk
                else ""
            )
            pages.append(
                (
                    f'<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="{_EC2_NS}">'
                    f"<requestId>{_hex(account, region, number, n=32)}</requestId>"
                    f"<reservationSet>{reservation}</reservationSet>{token}</DescribeInstancesResponse>"
                ).encode()
            )
        with self._lock:
            self._pages[key] = pages
        return pages

    def _assume_role(self, params: dict) -> tuple[int, bytes]:
        match = _ROLE_RE.match(params.get("RoleArn", ""))
        if not match:
            return 400, _sts_error("ValidationError", "RoleArn is not a role ARN")
        account, role = match.groups()
        with self._lock:
            self.calls["AssumeRole", account] += 1
            self._serial = (self._serial + 1) % 0x10000
            serial = self._serial
        if account in self.deny:
            return 403, _sts_error("AccessDenied", f"not authorized to perform sts:AssumeRole on {role}")
        key = f"ASIA{account}{serial:04X}"
        expires = datetime.now(timezone.utc) + timedelta(seconds=self.expiration_seconds)
        with self._lock:
            self._expiry[key] = expires.timestamp()
        body = (
            f'<AssumeRoleResponse xmlns="{_STS_NS}"><AssumeRoleResult><Credentials>'
            f"<AccessKeyId>{key}</AccessKeyId><SecretAccessKey>secret-{key}</SecretAccessKey>"
            f"<SessionToken>token-{key}</SessionToken><Expiration>{expires:%Y-%m-%dT%H:%M:%SZ}</Expiration>"
            f"</Credentials><AssumedRoleUser><AssumedRoleId>AROA{account}:s</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/{role}/s</Arn></AssumedRoleUser></AssumeRoleResult>"
            f"<ResponseMetadata><RequestId>{_hex(key, n=32)}</RequestId></ResponseMetadata></AssumeRoleResponse>"
        )
        return 200, body.encode()

    def answer(self, headers, body: bytes) -> tuple[int, bytes]:
        params = {k: v[0] for k, v in parse_qs(body.decode("ascii", "replace")).items()}
        action = params.get("Action", "")
        scope = _SCOPE_RE.search(headers.get("Authorization", ""))
        if not scope:
            return 403, _ec2_error("AuthFailure", "request not signed")
        key, region, service = scope.groups()
        if service == "sts":
            if action == "AssumeRole":
                return self._assume_role(params)
            if action == "GetCallerIdentity":
                account = key[4:16] if key.startswith("ASIA") else SOURCE_ACCOUNT
                return 200, (
                    f'<GetCallerIdentityResponse xmlns="{_STS_NS}"><GetCallerIdentityResult>'
                    f"<Arn>arn:aws:iam::{account}:user/controller</Arn><UserId>AIDA{account}</UserId>"
                    f"<Account>{account}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
                ).encode()
            return 400, _sts_error("InvalidAction", f"{action} is not supported here")
        if not key.startswith("ASIA") or len(key) != 20:
            return 401, _ec2_error("AuthFailure", "only assumed-role credentials are accepted")
        account = key[4:16]
        if headers.get("X-Amz-Security-Token") != f"token-{key}":
            with self._lock:
                self.mismatches += 1
            return 401, _ec2_error("AuthFailure", "the session token does not belong to the access key")
        expiry = self._expiry.get(key)
        if expiry is not None and expiry < time.time():
            with self._lock:
                self.expired += 1
            return 400, _ec2_error("RequestExpired", "the security token included in the request is expired")
        with self._lock:
            self.calls[action, account] += 1
            if action == "DescribeInstances":
                self._describes += 1
            count = self._describes
        if action == "DescribeRegions":
            return 200, self._regions_body
        if action == "DescribeInstances":
            with self._lock:
                left = self.throttle_accounts.get(account, 0)
                if left:
                    self.throttle_accounts[account] = left - 1
            if left or (self.throttle_every and count % self.throttle_every == 0):
                with self._lock:
                    self.throttled += 1
                return 503, _ec2_error("RequestLimitExceeded", "Request limit exceeded.")
            if region not in self.regions:
                return 200, self._instance_pages(account, "none")[0]
            pages = self._instance_pages(account, region)
            token = params.get("NextToken", "")
            number = int(token.split("-")[1]) if token.startswith("page-") else 0
            if number >= len(pages):
                return 400, _ec2_error("InvalidParameterValue", "bad NextToken")
            return 200, pages[number]
        return 400, _ec2_error("InvalidAction", f"{action} is not supported here")

    # -- server ---------------------------------------------------------------------------------

    def _handler(self) -> type:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave at once: with Nagle's algorithm the body would wait for the
            # client's delayed ACK of the headers, ~40 ms per call on top of the latency asked for
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if owner.latency:
                    time.sleep(owner.latency)
                status, payload = owner.answer(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                return None

        return Handler

    def start(self) -> FastAws:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fast-aws", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--regions", type=int, default=len(AWS_ENABLED_REGIONS), help="the first N enabled regions")
    parser.add_argument("--instances-per-account", type=int, default=8)
    args = parser.parse_args(argv)
    server = FastAws(
        latency_ms=args.latency_ms,
        regions=AWS_ENABLED_REGIONS[: args.regions],
        instances_per_account=args.instances_per_account,
        port=args.port,
    ).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(server.endpoint.rsplit(":", 1)[1])
        os.replace(tmp, args.port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
