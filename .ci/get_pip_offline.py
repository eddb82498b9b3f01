"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

ansible-test bootstraps pip in each of its virtual environments with a get-pip script it fetches
from a host that CI (and many corporate networks) cannot reach; it documents saving the script to
~/.ansible/test/cache/get_pip_<version>.py by hand. `make sanity` saves this file there instead:
it installs the bundled pip with ensurepip, then runs pip with the arguments ansible-test passes
(pip==<version> and friends), so the packages still come from PyPI with their pinned versions.
"""

import subprocess
import sys

IGNORED = ("--no-setuptools", "--no-wheel")


def main() -> int:
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in IGNORED]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    sys.exit(main())
