"""crossaccount.aws.aws_ssm extends amazon.aws.aws_ssm through private internals: these tests fail
loudly when amazon.aws changes them (see docs/design.md, private interfaces), and check the
redaction of what aws_ssm prints at -vvvv."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
AMAZON_AWS = ROOT / ".tmp" / "collections" / "ansible_collections" / "amazon" / "aws"
OURS = ROOT / "plugins" / "connection" / "aws_ssm.py"

pytestmark = pytest.mark.skipif(not AMAZON_AWS.is_dir(), reason="amazon.aws is placed by make collection-link")


def _doc(path: Path) -> dict:
    import ast

    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"no DOCUMENTATION in {path}")


def _upstream_sources() -> list[Path]:
    return [
        AMAZON_AWS / "plugins/connection/aws_ssm.py",
        *sorted((AMAZON_AWS / "plugins/plugin_utils/ssm").glob("*.py")),
    ]


def test_every_option_aws_ssm_reads_is_declared_here():
    """amazon.aws.aws_ssm reads its options with get_option(); ours must declare each one, or
    ansible-core raises KeyError for an option it does not know."""
    read = set()
    for path in _upstream_sources():
        read |= set(re.findall(r"get_option\(\s*[\"'](\w+)[\"']", path.read_text()))
    ours = set(_doc(OURS)["options"])
    upstream = set(_doc(AMAZON_AWS / "plugins/connection/aws_ssm.py")["options"])
    assert read, "found no get_option() call in aws_ssm: the pattern is out of date"
    assert read <= ours, f"aws_ssm reads options we do not declare: {sorted(read - ours)}"
    assert upstream <= ours, f"aws_ssm declares options we do not: {sorted(upstream - ours)}"


def test_credentials_options_cannot_come_from_variables_or_environment():
    options = _doc(OURS)["options"]
    for name in ("access_key_id", "secret_access_key", "session_token", "profile"):
        assert not options[name].get("vars") and not options[name].get("env"), name
    assert options["role_arn"]["vars"] == [{"name": "crossaccount_ssm_role_arn"}]


def test_the_private_internals_we_use_are_still_there():
    from ansible_collections.amazon.aws.plugins.connection.aws_ssm import Connection
    from ansible_collections.amazon.aws.plugins.plugin_utils.ssm.sessionmanager import SSMSessionManager

    for name in (
        "_connect",
        "exec_command",
        "put_file",
        "fetch_file",
        "verbosity_display",
        "start_session",
        "reset",
        "close",
        "_init_clients",
    ):
        assert callable(getattr(Connection, name, None)), name
    assert Connection.is_windows is False  # set per host in __init__ from the shell plugin
    # stdin_write (ProcessManager's, reached through SSMSessionManager) sends the HISTFILE line
    from ansible_collections.amazon.aws.plugins.plugin_utils.ssm.sessionmanager import ProcessManager

    assert list(inspect.signature(ProcessManager.stdin_write).parameters) == ["self", "command"]
    assert "__getattr__" in vars(SSMSessionManager)
    assert isinstance(Connection.session_manager, property) and Connection.session_manager.fset is not None
    assert list(inspect.signature(Connection.verbosity_display).parameters) == ["self", "level", "message"]
    assert list(inspect.signature(SSMSessionManager.start_session).parameters)[:5] == [
        "self",
        "executable",
        "document_name",
        "region_name",
        "profile_name",
    ]
    # the managers get our (redacting) verbosity_display and the credentials through get_option
    source = (AMAZON_AWS / "plugins/connection/aws_ssm.py").read_text()
    assert "verbosity_display=self.verbosity_display" in source
    base = (AMAZON_AWS / "plugins/plugin_utils/ssm/base.py").read_text()
    for option in ("access_key_id", "secret_access_key", "session_token"):
        assert f'get_option("{option}")' in base


def test_subclass_and_redaction():
    from ansible_collections.amazon.aws.plugins.connection.aws_ssm import Connection as Upstream

    from ansible_collections.crossaccount.aws.plugins.connection.aws_ssm import Connection

    assert issubclass(Connection, Upstream)
    assert Connection.transport == "crossaccount.aws.aws_ssm"
    conn = Connection.__new__(Connection)
    token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc=="
    conn._secret_values = ("ASIAEXAMPLEKEY123456", "sEcReT/kEy+value", token, "IQoJb3JpZ2luX2VjEJr%2F%2F")
    text = (
        "EXEC: curl -o '/tmp/x' 'http://127.0.0.1/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=ASIAEXAMPLEKEY123456%2F20261203%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F&X-Amz-Signature=0123abcd' "
        'SSM COMMAND: [\'plugin\', \'{"SessionId": "s-1", "TokenValue": "tok-123-secret", "StreamUrl": "ws://x"}\'] '
        f"key sEcReT/kEy+value token {token}"
    )
    out = conn._redact(text)
    for secret in (
        "ASIAEXAMPLEKEY123456",
        "sEcReT/kEy+value",
        token,
        "IQoJb3JpZ2luX2VjEJr",
        "tok-123-secret",
        "0123abcd",
    ):
        assert secret not in out, secret
    assert "X-Amz-Credential=[redacted]" in out and '"TokenValue": "[redacted]"' in out
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out, "the rest of the line stays readable"
