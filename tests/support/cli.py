"""Run the real ansible CLIs as subprocesses against a stand-in, and read their output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.support.aws_env import aws_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
BIN = os.path.dirname(sys.executable)


def unwrap(value: Any) -> Any:
    """ansible-core 2.19+ writes untrusted strings as {"__ansible_unsafe": "..."}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def is_unsafe(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"__ansible_unsafe"}


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def raw(self) -> dict:
        # at -v ansible-inventory itself prints a few lines to stdout before the JSON
        start = self.stdout.find("\n{") + 1 if not self.stdout.startswith("{") else 0
        return json.loads(self.stdout[start:])

    @property
    def data(self) -> dict:
        return unwrap(self.raw)

    @property
    def hostvars(self) -> dict:
        return self.data["_meta"]["hostvars"]

    def group_hosts(self, group: str) -> list[str]:
        return sorted(self.data.get(group, {}).get("hosts", []))

    @property
    def all_vars(self) -> dict:
        """Variables of group all: shown under all.vars with --export; without it ansible-inventory
        folds them into every host's variables."""
        found = self.data.get("all", {}).get("vars")
        if found is not None:
            return found
        hostvars = self.data.get("_meta", {}).get("hostvars", {})
        return next(iter(hostvars.values()), {})


def _test_home() -> str:
    home = os.path.join(ROOT, ".tmp", "home")
    os.makedirs(home, exist_ok=True)
    return home


def ansible_env(endpoint: str, extra: dict | None = None, collections: str = COLLECTIONS) -> dict:
    env = aws_env(endpoint)
    for key in list(env):  # a developer's own ANSIBLE_* settings (verbosity, callbacks ...) never leak in
        if key.startswith("ANSIBLE_"):
            del env[key]
    env.update(
        ANSIBLE_COLLECTIONS_PATH=collections,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_LOCAL_TEMP=os.path.join(ROOT, ".tmp", "ansible-local"),
        # ansible-core's home (the plugin keeps its trimmed botocore models there): the tests'
        # own, not the user's ~/.ansible
        ANSIBLE_HOME=os.path.join(ROOT, ".tmp", "ansible-home"),
        # and a home of their own: nothing of the developer's (~/.aws/models, whose botocore models
        # would win over the plugin's trimmed copies, ~/.ansible ...) is read by the CLIs under test
        HOME=_test_home(),
        ANSIBLE_CONFIG=os.path.join(ROOT, "tests", "support", "files", "ansible.cfg"),
        PYTHONWARNINGS="ignore",
    )
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    if extra:
        env.update(extra)
    return env


def run(
    cmd: list[str],
    endpoint: str,
    extra_env: dict | None = None,
    cwd: str | None = None,
    timeout: int = 300,
    collections: str = COLLECTIONS,
    preexec_fn=None,
) -> Result:
    proc = subprocess.run(
        cmd,
        env=ansible_env(endpoint, extra_env, collections),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        preexec_fn=preexec_fn,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def export(inventory: str, endpoint: str, out_dir, *args: str, **kw) -> Result:
    """``ansible-playbook crossaccount.aws.cmdb_export -i inventory`` writing into ``out_dir``; ``args``
    are more ansible-playbook arguments (``-e`` variables), ``kw`` go to ``run``."""
    playbook = [os.path.join(BIN, "ansible-playbook"), "crossaccount.aws.cmdb_export", "-i", str(inventory)]
    return run([*playbook, "-e", f"cmdb_export_dir={out_dir}", *args], endpoint, **kw)


def inventory(path: str, endpoint: str, *args: str, extra_env: dict | None = None, **kw) -> Result:
    return run(
        [os.path.join(BIN, "ansible-inventory"), "-i", path, *(args or ("--list",))],
        endpoint,
        extra_env=extra_env,
        **kw,
    )
