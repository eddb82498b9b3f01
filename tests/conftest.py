"""Make ``ansible_collections.crossaccount.aws`` importable from this checkout.

``make collection-link`` (a prerequisite of ``make test``) creates
.tmp/collections/ansible_collections/crossaccount/aws -> the repository root; the same path is
given to ansible-inventory and ansible-playbook as ANSIBLE_COLLECTIONS_PATH.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "crossaccount", "aws")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(os.path.relpath(ROOT, os.path.dirname(LINK)), LINK)
    except FileExistsError:  # another pytest-xdist worker made it first
        pass
for path in (COLLECTIONS, ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)

# ansible-core's collection loader serves ansible_collections.* (as it does under ansible-playbook),
# so that in-process tests can load the plugin through ansible-core's plugin loader as well
# (tests/support/settings.py: the option definitions of its DOCUMENTATION).
from ansible.plugins.loader import init_plugin_loader  # noqa: E402

init_plugin_loader([COLLECTIONS])
