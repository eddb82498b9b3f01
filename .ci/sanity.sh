#!/usr/bin/env bash
# `make sanity`: ansible-test sanity on the collection exactly as it ships.
#
# ansible-test wants the collection at .../ansible_collections/crossaccount/aws, so the tarball that
# `ansible-galaxy collection build` makes (build_ignore applied: no tests, bench, demo, venvs) is
# unpacked into a temporary tree (a copy, never a symlink), tests/sanity/ignore-*.txt added, and
# ansible-test runs there in --venv mode (no docker) with --requirements, which installs each
# sanity test's pinned tools (pylint, yamllint, voluptuous, pycodestyle...) from PyPI into
# ansible-test's own virtual environments. The repository's pytest code is checked by ruff instead.
#
# Usage: .ci/sanity.sh [ansible-test sanity options, e.g. --test pep8]
# Environment: BIN (venv bin directory, default .venv/bin), SANITY_PYTHON (default 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "${BIN:-.venv/bin}" && pwd)
PY=${SANITY_PYTHON:-3.11}

work=$(mktemp -d "${TMPDIR:-/tmp}/crossaccount-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$BIN/ansible-galaxy" collection build --output-path "$work" . >/dev/null
tree="$work/ansible_collections/crossaccount/aws"
mkdir -p "$tree/tests/sanity"
tar -xzf "$work"/crossaccount-aws-*.tar.gz -C "$tree"
cp tests/sanity/ignore-*.txt "$tree/tests/sanity/" 2>/dev/null || true
# the collection's dependency amazon.aws (its aws_ssm connection is what plugins/connection/aws_ssm.py
# extends), beside it as ansible-test expects, from `make collection-link`
if [ -d .tmp/collections/ansible_collections/amazon/aws ]; then
    mkdir -p "$work/ansible_collections/amazon"
    cp -r .tmp/collections/ansible_collections/amazon/aws "$work/ansible_collections/amazon/aws"
fi

# ansible-test bootstraps pip in its virtual environments with a get-pip script downloaded from
# ci-files.testing.ansible.com, which CI cannot reach; it documents saving the script into its
# cache by hand. .ci/get_pip_offline.py does the same job with ensurepip + pip from PyPI.
pip_version=$("$BIN/python" - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent.joinpath("_internal", "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -s "$cache" ]; then
    mkdir -p "$(dirname "$cache")"
    cp .ci/get_pip_offline.py "$cache"
fi

cd "$tree"
"$BIN/ansible-test" sanity --venv --python "$PY" --requirements --color no "$@"
