#!/usr/bin/env python3
"""A stand-in for AWS's session-manager-plugin binary, for tests and the demo.

amazon.aws.aws_ssm runs ``session-manager-plugin <StartSession answer as JSON> <region>
StartSession <profile> <{"Target": ...}> <SSM endpoint URL>`` with stdin a pipe and stdout a
pty, and then talks to a shell on the instance through it. The real plugin opens the session's
data channel (a websocket at StreamUrl, authenticated with TokenValue) to the SSM agent of the
instance. This one:

1. opens the stand-in's data channel (``GET <endpoint>/__ssm/data-channel/<SessionId>`` with the
   session's token): the stand-in refuses an unknown session or a wrong token, and answers the
   session's target, account, role and region;
2. prints ``Starting session with SessionId: ...`` like the real plugin;
3. runs ``bash -i`` in its own pty as "the instance": its home and working directory are
   ``$CROSSACCOUNT_FAKE_SSM_ROOT/<instance id>``, its environment names the instance, account,
   role and region it is (CROSSACCOUNT_SSM_*) and holds no AWS credentials;
4. relays stdin to the shell and the shell's output to stdout until the shell exits.

Files travel as with the real agent: aws_ssm sends ``curl`` commands with presigned URLs of the
S3 bucket, and curl fetches/puts them from the stand-in's S3 on loopback.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import tempfile
import urllib.error
import urllib.request


def _open_data_channel(endpoint: str, session_id: str, token: str) -> dict:
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}/__ssm/data-channel/{session_id}", headers={"X-Ssm-Token": token}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback stand-in
        return json.loads(answer.read())


def main(argv: list[str]) -> int:
    if len(argv) < 7 or argv[3] != "StartSession":
        sys.stderr.write("usage: session-manager-plugin RESPONSE REGION StartSession PROFILE PARAMETERS ENDPOINT\n")
        return 2
    response = json.loads(argv[1])
    endpoint = argv[6]
    session_id = response["SessionId"]
    try:
        info = _open_data_channel(endpoint, session_id, response["TokenValue"])
    except (urllib.error.URLError, OSError, ValueError) as exc:
        sys.stderr.write(f"An error occurred while opening the data channel of {session_id}: {exc}\n")
        return 1

    root = os.path.join(
        os.environ.get("CROSSACCOUNT_FAKE_SSM_ROOT") or os.path.join(tempfile.gettempdir(), "fake-ssm"),
        info["target"],
    )
    os.makedirs(root, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        HOME=root,
        PS1="$ ",
        TERM="dumb",
        CROSSACCOUNT_SSM_INSTANCE=str(info["target"]),
        CROSSACCOUNT_SSM_ACCOUNT=str(info["account"]),
        CROSSACCOUNT_SSM_ROLE=str(info["role"]),
        CROSSACCOUNT_SSM_REGION=str(info["region"]),
        CROSSACCOUNT_SSM_SESSION=session_id,
    )
    os.write(1, f"\nStarting session with SessionId: {session_id}\n".encode())

    pid, master = pty.fork()
    if pid == 0:  # the instance's shell
        os.chdir(root)
        os.execve("/bin/bash", ["bash", "--noprofile", "--norc", "-i"], env)

    def _stop(*_args: object) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, _stop)
    stdin_open = True
    while True:
        watched = [master] + ([0] if stdin_open else [])
        try:
            readable, _w, _x = select.select(watched, [], [], 1.0)
        except InterruptedError:
            continue
        if master in readable:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the shell has exited
                break
            if not data:
                break
            os.write(1, data)
        if 0 in readable:
            data = os.read(0, 65536)
            if not data:
                stdin_open = False
                os.write(master, b"\nexit\n")
            else:
                os.write(master, data)
    os.waitpid(pid, 0)
    os.write(1, f"\n\nExiting session with sessionId: {session_id}.\n\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
