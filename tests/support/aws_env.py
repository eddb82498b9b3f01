"""The environment of a client of a local AWS stand-in (moto or the fast stand-in).

Kept apart from stand_in.py, which imports moto: the benchmark's own virtualenv (.venv-bench)
has no moto and imports this through tests/support/cli.py.
"""

from __future__ import annotations

import os


def aws_env(endpoint: str, base: dict | None = None) -> dict:
    """Environment for a client of the stand-in: fake source credentials, its endpoint, no real
    AWS configuration files. Never sets MOTO_ACCOUNT_ID (it would override assumed accounts)."""
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if key.startswith("AWS_") or key == "MOTO_ACCOUNT_ID":
            del env[key]
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def point_environment_at(monkeypatch, endpoint: str) -> None:
    """This process's environment pointed at a stand-in (for in-process engine tests): every AWS_
    variable removed, then those of ``aws_env``."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in aws_env(endpoint, base={}).items():
        monkeypatch.setenv(key, value)
