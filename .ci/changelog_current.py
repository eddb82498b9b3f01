"""`make release-check` helper: the galaxy.yml version has a release in changelogs/changelog.yaml, and
CHANGELOG.rst is what antsibull-changelog generates from it (regenerated into a temporary file)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def main() -> int:
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        version = str(yaml.safe_load(f)["version"])
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as f:
        releases = yaml.safe_load(f).get("releases") or {}
    if version not in releases:
        print(
            f"release-check: galaxy.yml version {version} has no release in changelogs/changelog.yaml; "
            f"run: antsibull-changelog release --version {version}",
            file=sys.stderr,
        )
        return 1
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))  # antsibull runs ansible-doc
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, "CHANGELOG.rst")
        cmd = [os.path.join(BIN, "antsibull-changelog"), "generate", "--output", fresh, "--output-format", "rst"]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        with open(fresh) as f:
            expected = f.read()
    with open(os.path.join(ROOT, "CHANGELOG.rst")) as f:
        current = f.read()
    if current != expected:
        print("release-check: CHANGELOG.rst is out of date; run: make changelog", file=sys.stderr)
        return 1
    print(f"release-check: version {version} is in the changelog and CHANGELOG.rst is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
