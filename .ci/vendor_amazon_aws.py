"""Put amazon.aws (as bundled by the `ansible` community package) under .tmp/collections.

There is no Galaxy server here: the `ansible` wheel on PyPI bundles amazon.aws. Only that one
collection is extracted, so nothing else of the community package shadows the test environment.
Used by tests that run amazon.aws itself (aws_ssm under our connection plugin, the aws_ec2
side-by-side). Usage: python .ci/vendor_amazon_aws.py WHEEL_DIR DEST_ROOT
"""

import glob
import os
import shutil
import sys
import zipfile

PREFIX = "ansible_collections/amazon/aws/"


def main() -> int:
    wheel_dir, dest_root = sys.argv[1], sys.argv[2]
    wheels = sorted(glob.glob(os.path.join(wheel_dir, "ansible-*.whl")))
    if not wheels:
        print(f"no ansible wheel in {wheel_dir}", file=sys.stderr)
        return 2
    target = os.path.join(dest_root, PREFIX)
    tmp = target.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for name in wheel.namelist():
            if name.startswith(PREFIX) and not name.endswith("/"):
                path = os.path.join(tmp, name[len(PREFIX) :])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with wheel.open(name) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target.rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
