"""`make bench`: crossaccount.aws.ec2 against its floors and amazon.aws.aws_ec2, on a moto stand-in.

Run by the Makefile with the bench virtualenv's Python (.venv-bench: ansible + amazon.aws,
matplotlib, pyinstrument). The stand-in (moto, from .venv) runs as a separate process behind
tests/support/faults.py (fixed latency per call, AWS-like DescribeRegions), so moto's CPU is
never counted in a measured process. Every measured command is a whole process; wall time by
the clock, peak RSS from os.wait4's rusage of that child.

Knobs (environment variables; `make bench BENCH_QUICK=1` for a smoke run of about 10 minutes):
  BENCH_CASES          which cases, default "1,2,3,5,6" (cached reruns, case 4, run inside 1 and 3);
                       5 and 6 use the fast stand-in (tests/support/fast_aws.py), not moto
  BENCH_RUNS           measured runs per small variant (default 5); BENCH_RUNS_LARGE for case 3 lean (3),
                       BENCH_RUNS_ALL for case 3 with every attribute (2)
  BENCH_ACCOUNTS       case 2 account counts (default "1,10,50,200")
  BENCH_PER_REGION     case 3 instances per account-region (default 250: 20 x 2 x 250 = 10,000)
  BENCH_AWS_EC2        0 to skip amazon.aws.aws_ec2 (default 1)
  BENCH_AWS_EC2_RUNS   measured aws_ec2 runs per variant (default 3; 1 above 10 accounts)
  BENCH_WORKERS_SWEEP  max_workers values tried at the largest case-2 fleet (default "4,8,16,32,64,128")
  BENCH_PROFILE        1 to write pyinstrument profiles to bench/.work/profiles
  BENCH_EXPORT         0 to skip timing the CMDB export playbook on the 10,000 hosts
  BENCH_ORG_ACCOUNTS   case 5 account counts, 17 regions each, fast stand-in (default "200,1000")
  BENCH_RUNS_ORG       measured runs per case-5 variant (default 3; 1 above 200 accounts)
  BENCH_ORG_WORKERS    max_workers values tried at 200 accounts for RSS per worker (default "16,64,128")
  BENCH_ORG_AWS_EC2_ACCOUNTS  case 5: accounts in the amazon.aws.aws_ec2 sample (default 5), scaled up
  BENCH_QUICK          1: small fleets, 2 runs, results in bench/.work/ instead of docs/
  BENCH_OUT            where the Markdown goes (default docs/benchmarks.md, or bench/.work/ when quick)

`.venv-bench/bin/python bench/bench.py --report` rewrites the Markdown and the chart from the last
run's bench/.work/results.json (after editing bench/analysis.md, say) without measuring again.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.support.cli import ansible_env  # noqa: E402
from tests.support.faults import AWS_ENABLED_REGIONS  # noqa: E402
from tests.support.fleet import seed_bulk  # noqa: E402

BENCH = os.path.join(ROOT, "bench")
WORK = os.path.join(BENCH, ".work")
DEV_BIN = os.path.join(ROOT, ".venv", "bin")
BENCH_BIN = os.path.dirname(sys.executable)
# The collection is measured from a copy taken when the run starts (see snapshot_collection): the
# numbers belong to one state of the code even while the working tree changes during a long run.
COLLECTIONS = os.path.join(WORK, "collections")
COLLECTION_PARTS = ("galaxy.yml", "meta", "plugins", "playbooks", "roles")
ROLE = "BenchReader"

ALL_REGIONS = None  # case 1: let the plugins discover the enabled regions
TWO_REGIONS = ["us-east-1", "eu-west-1"]
LEAN = ["instance_type", "private_ip_address", "state"]  # + the 8 always-kept variables = 11


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


QUICK = os.environ.get("BENCH_QUICK") == "1"
CASES = set((os.environ.get("BENCH_CASES") or "1,2,3,5,6").split(","))
RUNS = env_int("BENCH_RUNS", 2 if QUICK else 5)
RUNS_LARGE = env_int("BENCH_RUNS_LARGE", 1 if QUICK else 3)
ACCOUNT_COUNTS = [int(x) for x in (os.environ.get("BENCH_ACCOUNTS") or ("1,10" if QUICK else "1,10,50,200")).split(",")]
PER_REGION = env_int("BENCH_PER_REGION", 10 if QUICK else 250)
DO_AWS_EC2 = os.environ.get("BENCH_AWS_EC2", "1") == "1"
AWS_EC2_RUNS = env_int("BENCH_AWS_EC2_RUNS", 1 if QUICK else 3)
SWEEP = [
    int(x) for x in (os.environ.get("BENCH_WORKERS_SWEEP") or ("" if QUICK else "4,8,16,32,64,128")).split(",") if x
]
# the every-attribute variant of case 3 costs a minute or more per run
RUNS_ALL = env_int("BENCH_RUNS_ALL", 1 if QUICK else 2)
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
EXPORT = os.environ.get("BENCH_EXPORT", "1") == "1"
ORG_ACCOUNTS = [int(x) for x in (os.environ.get("BENCH_ORG_ACCOUNTS") or ("20" if QUICK else "200,1000")).split(",")]
RUNS_ORG = env_int("BENCH_RUNS_ORG", 1 if QUICK else 3)
# the shared-client floor of case 5 runs as many threads as the plugin's default max_workers
FLOOR_THREADS = 128
ORG_WORKERS = [int(x) for x in (os.environ.get("BENCH_ORG_WORKERS") or ("" if QUICK else "16,64,128")).split(",") if x]
# case 5's amazon.aws.aws_ec2 sample: that many accounts (one file each, all 17 regions), timed once
# and scaled to the case's account counts (aws_ec2 reads the files one after the other)
ORG_AWS_EC2_ACCOUNTS = env_int("BENCH_ORG_AWS_EC2_ACCOUNTS", 2 if QUICK else 5)
OUT = os.environ.get("BENCH_OUT") or (
    os.path.join(WORK, "benchmarks.md") if QUICK else os.path.join(ROOT, "docs", "benchmarks.md")
)
CHART = os.path.join(os.path.dirname(OUT), "bench-accounts.png")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# the stand-in


class StandIn:
    """tests/support/stand_in.py as a subprocess (moto's CPU stays out of the measured process)."""

    def __init__(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self.port_file = os.path.join(WORK, f"stand-in-{os.getpid()}-{time.monotonic_ns()}.port")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> StandIn:
        cmd = [
            os.path.join(DEV_BIN, "python"),
            "-m",
            "tests.support.stand_in",
            "--port-file",
            self.port_file,
            "--latency-ms",
            str(self.latency_ms),
            "--aws-like-regions",
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the moto stand-in did not start")
            time.sleep(0.1)
        with open(self.port_file) as fh:
            self.endpoint = f"http://127.0.0.1:{fh.read().strip()}"
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.port_file):
            os.remove(self.port_file)


class FastStandIn(StandIn):
    """tests/support/fast_aws.py as a subprocess: pre-rendered STS/EC2 answers keyed by the account
    of the signing key, ~0.3 ms of CPU per request, latency slept in the request's thread."""

    def __init__(self, latency_ms: float, regions: int, instances_per_account: int) -> None:
        super().__init__(latency_ms)
        self.regions, self.instances_per_account = regions, instances_per_account

    def __enter__(self) -> FastStandIn:
        cmd = [
            os.path.join(DEV_BIN, "python"),
            "-m",
            "tests.support.fast_aws",
            "--port-file",
            self.port_file,
            "--latency-ms",
            str(self.latency_ms),
            "--regions",
            str(self.regions),
            "--instances-per-account",
            str(self.instances_per_account),
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fast stand-in did not start")
            time.sleep(0.05)
        with open(self.port_file) as fh:
            self.endpoint = f"http://127.0.0.1:{fh.read().strip()}"
        return self


def snapshot_collection() -> str:
    """Copy the collection (working tree) under bench/.work; returns the git state it came from."""
    target = os.path.join(COLLECTIONS, "ansible_collections", "crossaccount", "aws")
    shutil.rmtree(COLLECTIONS, ignore_errors=True)
    os.makedirs(target)
    for part in COLLECTION_PARTS:
        src = os.path.join(ROOT, part)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(target, part), ignore=shutil.ignore_patterns("__pycache__"))
        elif os.path.exists(src):
            shutil.copy2(src, os.path.join(target, part))

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    dirty = git("status", "--porcelain", "--", *COLLECTION_PARTS)
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted changes" if dirty else "")


def aws_env(endpoint: str, **extra: str) -> dict:
    """tests/support's environment for the real CLIs (cli.ansible_env: fake source credentials, the
    stand-in's endpoint, no AWS files), on the measured copy of the collection. amazon.aws for the
    aws_ec2 runs comes from the bench venv's ansible package, else from .tmp/collections."""
    env = ansible_env(
        endpoint,
        {
            "ANSIBLE_LOCAL_TEMP": os.path.join(WORK, "ansible-local"),
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
            **extra,
        },
        collections=COLLECTIONS + os.pathsep + os.path.join(ROOT, ".tmp", "collections"),
    )
    if "ANSIBLE_COLLECTIONS_PATH" in extra:
        env["ANSIBLE_COLLECTIONS_PATH"] = extra["ANSIBLE_COLLECTIONS_PATH"]
    # The tests keep the source tree free of __pycache__; an installed collection (and amazon.aws
    # beside it) has its bytecode cached after the first run, so the measured runs do too.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def seed(endpoint: str, accounts: list[str], regions: list[str], per_region: int) -> int:
    """The fleet, by assuming a role per account (tests/support/fleet.py), 8 accounts at a time."""
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(lambda a: seed_bulk(endpoint, [a], regions, per_region), accounts))


def account_ids(prefix: int, n: int) -> list[str]:
    return [f"{prefix:03d}{i:09d}" for i in range(1, n + 1)]


# ---------------------------------------------------------------------------------------------
# measuring


def measure(cmd: list[str], env: dict, stdout_path: str | None = None, timeout: float = 3600) -> dict:
    """Wall time and peak RSS of one whole process (through bench/child.py)."""
    stats_path = os.path.join(WORK, "last.stats.json")
    err_path = os.path.join(WORK, "last.stderr")
    wrapper = [os.path.join(DEV_BIN, "python"), os.path.join(BENCH, "child.py"), stats_path]
    with open(stdout_path or os.devnull, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.run(wrapper + cmd, env=env, stdout=out, stderr=err, cwd=WORK, timeout=timeout, check=False)
    with open(err_path, "rb") as fh:
        stderr = fh.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    with open(stats_path) as fh:
        stats = json.load(fh)
    stats["stderr"] = stderr
    return stats


def repeat(label: str, n: int, cmd: list[str], env: dict, stdout_path: str | None = None) -> dict:
    return interleaved([(label, n, cmd, env, stdout_path)])[0]


def interleaved(specs: list[tuple[str, int, list[str], dict, str | None]]) -> list[dict]:
    """Each (label, runs, cmd, env, stdout_path) measured ``runs`` times, taking turns: run i of
    every variant before run i + 1 of any. A ratio between two variants then compares runs made
    minutes apart at most, not one variant in a quiet minute and the other in a busy one (the
    speed of a shared VM drifts by tens of percent over minutes)."""
    samples: list[list[dict]] = [[] for _ in specs]
    for i in range(max(spec[1] for spec in specs)):
        for (label, n, cmd, env, stdout_path), done in zip(specs, samples, strict=True):
            if i < n:
                r = measure(cmd, env, stdout_path if i == 0 else None)
                done.append(r)
                log(f"  {label} run {i + 1}/{n}: {r['wall']:.2f}s, {r['rss_mb']:.0f} MB")
    return [summary(spec[0], done) for spec, done in zip(specs, samples, strict=True)]


def summary(label: str, samples: list[dict]) -> dict:
    n = len(samples)
    walls = [s["wall"] for s in samples]
    return {
        "label": label,
        "runs": n,
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "rss_mb": statistics.median(s["rss_mb"] for s in samples),
        "processes": max(s.get("processes", 1) for s in samples),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "stderr_tail": samples[0]["stderr"][-2000:],
    }


def unwrap(value):
    if isinstance(value, dict):
        if len(value) == 1 and "__ansible_unsafe" in value:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def check_inventory(path: str, expected: int, accounts: list[str]) -> dict:
    """Every instance exactly once, each from its own account, and the scan had no errors."""
    with open(path) as fh:
        text = fh.read()
    data = unwrap(json.loads(text[text.find("{") :]))
    hostvars = data.get("_meta", {}).get("hostvars", {})
    ids = [hv.get("instance_id") for hv in hostvars.values()]
    account_set = set(accounts)
    wrong_account = sum(
        1
        for hv in hostvars.values()
        if hv.get("account_id") not in account_set or hv.get("owner_id", hv.get("account_id")) != hv.get("account_id")
    )
    errors = next(iter(hostvars.values()), {}).get("crossaccount_errors", [])
    ok = len(ids) == expected and len(set(ids)) == expected and not wrong_account and not errors
    return {
        "expected": expected,
        "hosts": len(ids),
        "unique": len(set(ids)),
        "wrong_account": wrong_account,
        "errors": len(errors),
        "ok": ok,
        "json_mb": len(text) / 1e6,
        "data": data,
    }


def check_aws_ec2(path: str, expected: int) -> dict:
    with open(path) as fh:
        text = fh.read()
    hostvars = json.loads(text[text.find("{") :]).get("_meta", {}).get("hostvars", {})
    ids = {unwrap(hv.get("instance_id")) for hv in hostvars.values()}
    return {"expected": expected, "hosts": len(hostvars), "unique": len(ids), "ok": len(ids) == expected}


# ---------------------------------------------------------------------------------------------
# inventories


def plugin_config(
    accounts: list[str],
    regions: list[str] | None,
    *,
    attributes: list[str] | None = None,
    cache_dir: str | None = None,
    workers: int | None = None,
    processes: int | None = None,
) -> str:
    lines = ["plugin: crossaccount.aws.ec2", f"role_name: {ROLE}", "accounts:"]
    lines += [f'  - id: "{a}"\n    name: bench-{a[-4:]}' for a in accounts]
    if regions:
        lines.append(f"regions: [{', '.join(regions)}]")
    if attributes is not None:
        lines.append(f"attributes: [{', '.join(attributes)}]")
    if workers:
        lines.append(f"max_workers: {workers}")
    if processes is not None:
        lines.append(f"scan_processes: {processes}")
    if cache_dir:
        lines += [
            "cache: true",
            "cache_plugin: ansible.builtin.jsonfile",
            f"cache_connection: {cache_dir}",
            "cache_timeout: 86400",
        ]
    return "\n".join(lines) + "\n"


def write(path: str, text: str, mode: int = 0o644) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)
    return path


def aws_ec2_dir(case_dir: str, endpoint: str, accounts: list[str], regions: list[str] | None) -> str:
    """One amazon.aws.aws_ec2 file per account, as a multi-account aws_ec2 setup has it."""
    d = os.path.join(case_dir, f"aws_ec2_{len(accounts)}")
    shutil.rmtree(d, ignore_errors=True)
    for a in accounts:
        lines = [
            "plugin: amazon.aws.aws_ec2",
            f"iam_role_arn: arn:aws:iam::{a}:role/{ROLE}",
            f"endpoint_url: {endpoint}",
            "hostnames: [instance-id]",
        ]
        if regions:
            lines.append(f"regions: [{', '.join(regions)}]")
        write(os.path.join(d, f"{a}.aws_ec2.yml"), "\n".join(lines) + "\n")
    return d


def ours(path: str) -> list[str]:
    return [os.path.join(DEV_BIN, "ansible-inventory"), "-i", path, "--list"]


def static_floor(case_dir: str, name: str, data: dict) -> list[str]:
    """ansible-core's floor: the same inventory, read back from a static JSON inventory script."""
    json_path = os.path.join(case_dir, f"{name}.json")
    with open(json_path, "w") as fh:
        json.dump(data, fh)
    script = write(os.path.join(case_dir, f"{name}.sh"), f"#!/bin/sh\nexec cat '{json_path}'\n", 0o755)
    return [os.path.join(DEV_BIN, "ansible-inventory"), "-i", script, "--list"]


def scan_floor(accounts: list[str], regions: list[str] | None, workers: int = 16) -> list[str]:
    return [
        os.path.join(DEV_BIN, "python"),
        os.path.join(BENCH, "scan_floor.py"),
        "--accounts",
        ",".join(accounts),
        "--regions",
        ",".join(regions or []),
        "--role",
        ROLE,
        "--workers",
        str(workers),
    ]


def one_host_floor(case_dir: str) -> tuple[list[str], dict]:
    """ansible-inventory with a collection plugin that returns one host (bench/collections)."""
    path = write(os.path.join(case_dir, "bench.one_host.yml"), "plugin: bench.floor.one_host\n")
    extra = {"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS + os.pathsep + os.path.join(BENCH, "collections")}
    return [os.path.join(DEV_BIN, "ansible-inventory"), "-i", path, "--list"], extra


def profile(case_dir: str, name: str, inventory: str, env: dict) -> None:
    """A pyinstrument profile of one ansible-inventory run (bench venv: same ansible-core and botocore)."""
    out = os.path.join(WORK, "profiles", f"{name}.txt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pyinstrument",
        "-o",
        out,
        os.path.join(BENCH_BIN, "ansible-inventory"),
        "-i",
        inventory,
        "--list",
    ]
    subprocess.run(cmd, env=env, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    log(f"  profile written to {out}")


# ---------------------------------------------------------------------------------------------
# cases


def case_seed_fleet(results: dict) -> None:
    log("case 1: 4 accounts x every enabled region, 20 instances per account, 50 ms")
    case_dir = os.path.join(WORK, "case1")
    shutil.rmtree(case_dir, ignore_errors=True)
    accounts = account_ids(101, 4)
    from tests.support.faults import AWS_ENABLED_REGIONS

    regions = list(AWS_ENABLED_REGIONS)
    per_region = max(1, 20 // len(regions))
    with StandIn(50) as stand_in:
        expected = seed(stand_in.endpoint, accounts, regions, per_region)
        env = aws_env(stand_in.endpoint)
        inv = write(os.path.join(case_dir, "uncached.ec2.yml"), plugin_config(accounts, ALL_REGIONS))
        cached = write(
            os.path.join(case_dir, "cached.ec2.yml"),
            plugin_config(accounts, ALL_REGIONS, cache_dir=os.path.join(case_dir, "cache")),
        )
        measure(ours(inv), env)  # warm-up: moto builds each account-region on first touch
        r = results["case1"] = {"accounts": 4, "regions": len(regions), "instances": expected}
        out = os.path.join(case_dir, "out.json")
        r["plugin"] = repeat("crossaccount.aws.ec2", RUNS, ours(inv), env, out)
        check = check_inventory(out, expected, accounts)
        r["check"] = {k: v for k, v in check.items() if k != "data"}
        r["scan_floor"] = repeat("scan floor (bare boto3)", RUNS, scan_floor(accounts, ALL_REGIONS), env)
        r["ansible_floor"] = repeat("ansible-core floor", RUNS, static_floor(case_dir, "static", check["data"]), env)
        if DO_AWS_EC2:
            d = aws_ec2_dir(case_dir, stand_in.endpoint, accounts, ALL_REGIONS)
            aws_cmd = [os.path.join(BENCH_BIN, "ansible-inventory"), "-i", d, "--list"]
            aws_out = os.path.join(case_dir, "aws_ec2.json")
            r["aws_ec2"] = repeat("amazon.aws.aws_ec2", AWS_EC2_RUNS, aws_cmd, aws_env(stand_in.endpoint), aws_out)
            r["aws_ec2_check"] = check_aws_ec2(aws_out, expected)
        if "4" in CASES or "1" in CASES:
            measure(ours(cached), env)  # fills the cache
            cached_out = os.path.join(case_dir, "cached.json")
            r["cached"] = repeat("crossaccount.aws.ec2, cached", RUNS, ours(cached), env, cached_out)
            r["cached_check"] = {
                k: v for k, v in check_inventory(cached_out, expected, accounts).items() if k != "data"
            }
            cmd, extra = one_host_floor(case_dir)
            r["one_host"] = repeat("one-host plugin", RUNS, cmd, aws_env(stand_in.endpoint, **extra))
        if PROFILE:
            profile(case_dir, "case1-uncached", inv, env)
            profile(case_dir, "case1-cached", cached, env)


def case_accounts(results: dict) -> None:
    top = max(ACCOUNT_COUNTS)
    log(f"case 2: {ACCOUNT_COUNTS} accounts x 2 regions, 5 instances per account-region, 50 ms")
    case_dir = os.path.join(WORK, "case2")
    shutil.rmtree(case_dir, ignore_errors=True)
    all_accounts = account_ids(202, top)
    rows = results["case2"] = {"regions": TWO_REGIONS, "per_region": 5, "rows": [], "sweep": []}
    with StandIn(50) as stand_in:
        seed(stand_in.endpoint, all_accounts, TWO_REGIONS, 5)
        env = aws_env(stand_in.endpoint)
        warm = write(os.path.join(case_dir, "warm.ec2.yml"), plugin_config(all_accounts, TWO_REGIONS))
        measure(ours(warm), env)
        for n in sorted(ACCOUNT_COUNTS):
            accounts = all_accounts[:n]
            expected = n * len(TWO_REGIONS) * 5
            inv = write(os.path.join(case_dir, f"n{n}.ec2.yml"), plugin_config(accounts, TWO_REGIONS))
            out = os.path.join(case_dir, f"n{n}.json")
            row = {"accounts": n, "tasks": n * len(TWO_REGIONS), "instances": expected}
            row["plugin"] = repeat(f"crossaccount.aws.ec2 {n} accounts", RUNS, ours(inv), env, out)
            row["check"] = {k: v for k, v in check_inventory(out, expected, accounts).items() if k != "data"}
            row["scan_floor"] = repeat(f"scan floor {n} accounts", RUNS, scan_floor(accounts, TWO_REGIONS), env)
            if DO_AWS_EC2:
                d = aws_ec2_dir(case_dir, stand_in.endpoint, accounts, TWO_REGIONS)
                aws_cmd = [os.path.join(BENCH_BIN, "ansible-inventory"), "-i", d, "--list"]
                aws_out = os.path.join(case_dir, f"aws_ec2_{n}.json")
                runs = AWS_EC2_RUNS if n <= 10 else 1  # one file per account: minutes per run
                row["aws_ec2"] = repeat(f"amazon.aws.aws_ec2 {n} accounts", runs, aws_cmd, env, aws_out)
                row["aws_ec2_check"] = check_aws_ec2(aws_out, expected)
            rows["rows"].append(row)
        for workers in SWEEP:
            inv = write(
                os.path.join(case_dir, f"w{workers}.ec2.yml"), plugin_config(all_accounts, TWO_REGIONS, workers=workers)
            )
            runs = max(1, RUNS // 2)
            rows["sweep"].append(
                {"workers": workers, "accounts": top, "plugin": repeat(f"max_workers {workers}", runs, ours(inv), env)}
            )
        if PROFILE:
            profile(case_dir, f"case2-{top}", warm, env)


def case_hosts(results: dict) -> None:
    accounts = account_ids(303, 20)
    expected = len(accounts) * len(TWO_REGIONS) * PER_REGION
    log(f"case 3: {expected} instances (20 accounts x 2 regions x {PER_REGION}), 20 ms")
    case_dir = os.path.join(WORK, "case3")
    shutil.rmtree(case_dir, ignore_errors=True)
    r = results["case3"] = {"accounts": 20, "regions": 2, "instances": expected, "variants": {}}
    with StandIn(20) as stand_in:
        started = time.monotonic()
        seed(stand_in.endpoint, accounts, TWO_REGIONS, PER_REGION)
        r["seed_seconds"] = time.monotonic() - started
        env = aws_env(stand_in.endpoint)
        warm = write(os.path.join(case_dir, "warm.ec2.yml"), plugin_config(accounts, TWO_REGIONS, attributes=LEAN))
        measure(ours(warm), env)
        r["scan_floor"] = repeat("scan floor 10k", RUNS_LARGE, scan_floor(accounts, TWO_REGIONS), env)
        for variant, attributes in (("lean", LEAN), ("all", None)):
            v = r["variants"][variant] = {"attributes": attributes}
            inv = write(
                os.path.join(case_dir, f"{variant}.ec2.yml"),
                plugin_config(accounts, TWO_REGIONS, attributes=attributes),
            )
            cache_dir = os.path.join(case_dir, f"cache-{variant}")
            cached = write(
                os.path.join(case_dir, f"{variant}-cached.ec2.yml"),
                plugin_config(accounts, TWO_REGIONS, attributes=attributes, cache_dir=cache_dir),
            )
            out = os.path.join(case_dir, f"{variant}.json")
            runs = RUNS_LARGE if variant == "lean" else RUNS_ALL
            v["plugin"] = repeat(f"{variant}: uncached", runs, ours(inv), env, out)
            check = check_inventory(out, expected, accounts)
            v["check"] = {k: val for k, val in check.items() if k != "data"}
            v["ansible_floor"] = repeat(
                f"{variant}: ansible-core floor", runs, static_floor(case_dir, variant, check["data"]), env
            )
            del check
            measure(ours(cached), env)  # fills the cache
            cached_out = os.path.join(case_dir, f"{variant}-cached.json")
            v["cached"] = repeat(f"{variant}: cached", runs, ours(cached), env, cached_out)
            v["cached_check"] = {
                k: val for k, val in check_inventory(cached_out, expected, accounts).items() if k != "data"
            }
            if EXPORT and os.path.exists(os.path.join(ROOT, "playbooks", "cmdb_export.yml")):
                v["export"] = cmdb_export(case_dir, variant, cached, env, expected)
            if PROFILE:
                profile(case_dir, f"case3-{variant}-uncached", inv, env)
                profile(case_dir, f"case3-{variant}-cached", cached, env)


def org_calls(accounts: int, regions: int) -> int:
    """API calls of a scan: AssumeRole and DescribeRegions per account, DescribeInstances per region."""
    return accounts * (2 + regions)


def per_call(m: dict, floor: dict | None, calls: int) -> dict:
    """CPU per API call: the whole process, and the plugin's share: minus the same inventory served
    from the plugin's cache (start-up, the cache read, loading the hosts into ansible-core, the
    JSON output: everything but the scan). A static JSON inventory script is not that floor: core
    tags every string it decodes, which costs it about three times what loading the plugin's hosts
    costs, and would hide plugin CPU."""
    out = {"calls": calls, "cpu_ms": 1000 * m["cpu"] / calls}
    if floor:
        out["plugin_cpu_ms"] = 1000 * max(0.0, m["cpu"] - floor["cpu"]) / calls
    return out


def steal_ticks() -> tuple[float, int]:
    """(monotonic time, CPU ticks stolen by the hypervisor so far) from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            return time.monotonic(), int(fh.readline().split()[8])
    except (OSError, IndexError, ValueError):
        return time.monotonic(), 0


def steal_percent(before: tuple[float, int]) -> float:
    """Share of the machine's CPU time the hypervisor took since ``before`` (a VM's noise: it
    inflates wall and CPU times alike)."""
    now, ticks = steal_ticks()
    elapsed = max(now - before[0], 1e-6)
    return 100.0 * (ticks - before[1]) / os.sysconf("SC_CLK_TCK") / (elapsed * (os.cpu_count() or 1))


def case_org_scale(results: dict) -> None:
    """Case 5: hundreds to thousands of accounts x 17 regions at 100 ms, on the fast stand-in."""
    regions = 17
    log(f"case 5: {ORG_ACCOUNTS} accounts x {regions} regions, 8 instances per account, 100 ms, fast stand-in")
    case_dir = os.path.join(WORK, "case5")
    shutil.rmtree(case_dir, ignore_errors=True)
    rows = results["case5"] = {
        "regions": regions,
        "latency_ms": 100,
        "rows": [],
        "workers": [],
        "floor_threads": FLOOR_THREADS,
    }
    with FastStandIn(100, regions, 8) as stand_in:
        env = aws_env(stand_in.endpoint)
        for n in ORG_ACCOUNTS:
            accounts = account_ids(505, n)
            expected = n * 8
            calls = org_calls(n, regions)
            inv = write(os.path.join(case_dir, f"n{n}.ec2.yml"), plugin_config(accounts, ALL_REGIONS))
            cached = write(
                os.path.join(case_dir, f"n{n}-cached.ec2.yml"),
                plugin_config(accounts, ALL_REGIONS, cache_dir=os.path.join(case_dir, f"cache{n}")),
            )
            out = os.path.join(case_dir, f"n{n}.json")
            runs = RUNS_ORG if n <= 200 else 1
            row = {"accounts": n, "calls": calls, "instances": expected, "load_before": os.getloadavg()[0]}
            measure(ours(cached), env)  # fills the cache
            row["steal_before"] = steal_ticks()
            # they take turns: the scan's share subtracts the cached run of the same minutes
            specs = [
                (f"crossaccount.aws.ec2 {n} accounts x {regions}", runs, ours(inv), env, out),
                (f"served from the cache {n}", runs, ours(cached), env, None),
                (
                    f"shared-client floor {n}",
                    runs,
                    scan_floor(accounts, ALL_REGIONS, FLOOR_THREADS) + ["--shared"],
                    env,
                    None,
                ),
            ]
            if n <= 200:  # the default (scan_processes: 0, automatic) against one process, same minutes
                one_text = plugin_config(accounts, ALL_REGIONS, processes=1)
                one = write(os.path.join(case_dir, f"n{n}-p1.ec2.yml"), one_text)
                specs.append((f"scan_processes: 1, {n} accounts", runs, ours(one), env, None))
            measured = interleaved(specs)
            row["plugin"], row["ansible_floor"], row["scan_floor"] = measured[:3]
            if len(measured) > 3:
                row["one_process"] = measured[3]
            row["steal_pct"] = steal_percent(row["steal_before"])
            check = check_inventory(out, expected, accounts)
            row["check"] = {k: v for k, v in check.items() if k != "data"}
            del check
            row["per_call"] = per_call(row["plugin"], row["ansible_floor"], calls)
            row["floor_per_call"] = per_call(row["scan_floor"], None, calls)
            row["load_after"] = os.getloadavg()[0]
            rows["rows"].append(row)
            if PROFILE:
                profile(case_dir, f"case5-{n}", inv, env)
        if DO_AWS_EC2 and ORG_AWS_EC2_ACCOUNTS > 0:
            # aws_ec2 is serial (one file per account, each region in turn): a sample of accounts,
            # timed in the same run, scaled linearly to the case's account counts
            sample = account_ids(505, ORG_AWS_EC2_ACCOUNTS)
            d = aws_ec2_dir(case_dir, stand_in.endpoint, sample, ALL_REGIONS)
            aws_out = os.path.join(case_dir, "aws_ec2_sample.json")
            aws_cmd = [os.path.join(BENCH_BIN, "ansible-inventory"), "-i", d, "--list"]
            m = repeat(f"amazon.aws.aws_ec2, {len(sample)} accounts x {regions}", 1, aws_cmd, env, aws_out)
            rows["aws_ec2_sample"] = {
                "accounts": len(sample),
                "plugin": m,
                "per_account_s": m["median"] / len(sample),
                "check": check_aws_ec2(aws_out, len(sample) * 8),
            }
        n = min(ORG_ACCOUNTS)
        accounts = account_ids(505, n)
        for workers in ORG_WORKERS:
            text = plugin_config(accounts, ALL_REGIONS, workers=workers)
            inv = write(os.path.join(case_dir, f"w{workers}.ec2.yml"), text)
            m = repeat(f"max_workers {workers}, {n} accounts", max(1, RUNS_ORG - 1), ours(inv), env)
            rows["workers"].append({"workers": workers, "accounts": n, "plugin": m})


def case_seed_fast(results: dict) -> None:
    """Case 6: the seed fleet (4 accounts x 20 regions, 50 ms) on the fast stand-in, against aws_ec2."""
    log("case 6: 4 accounts x 20 enabled regions, 20 instances per account, 50 ms, fast stand-in")
    case_dir = os.path.join(WORK, "case6")
    shutil.rmtree(case_dir, ignore_errors=True)
    accounts = account_ids(606, 4)
    regions = len(AWS_ENABLED_REGIONS)
    r = results["case6"] = {"accounts": 4, "regions": regions, "instances": 4 * 20}
    with FastStandIn(50, regions, 20) as stand_in:
        env = aws_env(stand_in.endpoint)
        inv = write(os.path.join(case_dir, "seed.ec2.yml"), plugin_config(accounts, ALL_REGIONS))
        out = os.path.join(case_dir, "out.json")
        measure(ours(inv), env)  # warm-up (the stand-in renders its answers on first use)
        specs = [("crossaccount.aws.ec2 (fast stand-in)", RUNS, ours(inv), env, out)]
        if DO_AWS_EC2:  # taking turns with ours, so that the ratio compares the same minutes
            d = aws_ec2_dir(case_dir, stand_in.endpoint, accounts, ALL_REGIONS)
            aws_cmd = [os.path.join(BENCH_BIN, "ansible-inventory"), "-i", d, "--list"]
            aws_out = os.path.join(case_dir, "aws_ec2.json")
            specs.append(("amazon.aws.aws_ec2 (fast stand-in)", AWS_EC2_RUNS, aws_cmd, env, aws_out))
        measured = interleaved(specs)
        r["plugin"] = measured[0]
        r["check"] = {k: v for k, v in check_inventory(out, r["instances"], accounts).items() if k != "data"}
        if DO_AWS_EC2:
            r["aws_ec2"] = measured[1]
            r["aws_ec2_check"] = check_aws_ec2(aws_out, r["instances"])


def cmdb_export(case_dir: str, variant: str, inventory: str, env: dict, expected: int) -> dict:
    """`ansible-playbook crossaccount.aws.cmdb_export` on the cached inventory (docs/cmdb-export.md)."""
    out_dir = os.path.join(case_dir, f"export-{variant}")
    os.makedirs(out_dir, exist_ok=True)
    cmd = [
        os.path.join(DEV_BIN, "ansible-playbook"),
        "crossaccount.aws.cmdb_export",
        "-i",
        inventory,
        "-e",
        f"cmdb_export_dir={out_dir}",
    ]
    runs = RUNS_LARGE if variant == "lean" else 1
    result = repeat(f"{variant}: cmdb_export (cached inventory)", runs, cmd, env)
    with open(os.path.join(out_dir, "cmdb.csv")) as fh:
        rows = sum(1 for _ in fh) - 1
    result["rows"] = rows
    result["ok"] = rows == expected
    return result


# ---------------------------------------------------------------------------------------------
# report


def versions() -> dict:
    def pip_version(bin_dir: str, pkg: str) -> str:
        code = f"import importlib.metadata as m; print(m.version('{pkg}'))"
        try:
            return subprocess.run(
                [os.path.join(bin_dir, "python"), "-c", code], capture_output=True, text=True, check=True
            ).stdout.strip()
        except subprocess.CalledProcessError:
            return "?"

    amazon = "?"
    for base in sys.path:
        manifest = os.path.join(base, "ansible_collections", "amazon", "aws", "MANIFEST.json")
        if os.path.exists(manifest):
            with open(manifest) as fh:
                amazon = json.load(fh)["collection_info"]["version"]
            break
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load average at start (1, 5, 15 min)": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ansible-core (.venv)": pip_version(DEV_BIN, "ansible-core"),
        "botocore (.venv)": pip_version(DEV_BIN, "botocore"),
        "moto (.venv, stand-in)": pip_version(DEV_BIN, "moto"),
        "ansible package (.venv-bench)": pip_version(BENCH_BIN, "ansible"),
        "ansible-core (.venv-bench)": pip_version(BENCH_BIN, "ansible-core"),
        "amazon.aws (bundled)": amazon,
    }


def fmt(m: dict | None) -> str:
    if not m:
        return "n/a"
    procs = m.get("processes", 1)
    return (
        f"{m['median']:.2f} s ({m['min']:.2f}-{m['max']:.2f}, n={m['runs']}), CPU {m['cpu']:.2f} s, "
        f"{m['rss_mb']:.0f} MB" + (f" (summed over {procs} processes)" if procs > 1 else "")
    )


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def targets(results: dict) -> list[tuple[str, str, str]]:
    rows = []
    c1 = results.get("case1")
    if c1:
        p = c1["plugin"]["median"]
        rows.append(("Case 1 wall <= 3 s", f"{p:.2f} s", verdict(p <= 3.0)))
        if "aws_ec2" in c1:
            ratio = c1["aws_ec2"]["median"] / p
            rows.append(("Case 1 >= 15x faster than aws_ec2", f"{ratio:.1f}x", verdict(ratio >= 15)))
        if "cached" in c1:
            diff = c1["cached"]["median"] - c1["one_host"]["median"]
            rows.append(("Case 1 cached within 0.5 s of a one-host plugin", f"+{diff:.2f} s", verdict(diff <= 0.5)))
    c2 = results.get("case2")
    if c2 and c2["rows"]:
        top = max(c2["rows"], key=lambda row: row["accounts"])
        bound = 1.3 * top["scan_floor"]["median"] + 2
        p = top["plugin"]["median"]
        rows.append(
            (
                f"Case 2 at {top['accounts']} accounts <= 1.3 x scan floor + 2 s",
                f"{p:.2f} s vs bound {bound:.2f} s (floor {top['scan_floor']['median']:.2f} s)",
                verdict(p <= bound),
            )
        )
    c3 = results.get("case3")
    if c3 and c3["variants"]:
        once = all(v["check"]["ok"] and v["cached_check"]["ok"] for v in c3["variants"].values())
        rows.append(("Case 3 every instance once", f"{c3['instances']} expected, all runs checked", verdict(once)))
        lean = c3["variants"].get("lean")
        if lean:
            t, f = lean["cached"]["median"], lean["ansible_floor"]["median"]
            m, fm = lean["cached"]["rss_mb"], lean["ansible_floor"]["rss_mb"]
            rows.append(
                (
                    "Case 3 lean cached <= 1.3 x ansible floor (time)",
                    f"{t:.2f} s vs {f:.2f} s ({t / f:.2f}x)",
                    verdict(t <= 1.3 * f),
                )
            )
            rows.append(
                (
                    "Case 3 lean cached <= 1.3 x ansible floor (memory)",
                    f"{m:.0f} MB vs {fm:.0f} MB ({m / fm:.2f}x)",
                    verdict(m <= 1.3 * fm),
                )
            )
            u, s = lean["plugin"]["median"], c3["scan_floor"]["median"]
            rows.append(
                (
                    "Case 3 lean uncached <= scan floor + ansible floor + 5 s",
                    f"{u:.2f} s vs bound {s + f + 5:.2f} s",
                    verdict(u <= s + f + 5),
                )
            )
    c5 = results.get("case5")
    for row in (c5 or {}).get("rows", []):
        n, p = row["accounts"], row["plugin"]
        if n == 200:
            wall = f"{p['median']:.2f} s"
            rows.append((f"Case 5, {n} x 17 at 100 ms: wall <= 10 s", wall, verdict(p["median"] <= 10)))
            pc = row["per_call"].get("plugin_cpu_ms", row["per_call"]["cpu_ms"])
            rows.append(
                (
                    f"Case 5, {n} x 17: plugin CPU per API call <= 2 ms",
                    f"{pc:.2f} ms (whole process {row['per_call']['cpu_ms']:.2f} ms; shared-client floor "
                    f"{row['floor_per_call']['cpu_ms']:.2f} ms)",
                    verdict(pc <= 2),
                )
            )
            floor = row["floor_per_call"]["cpu_ms"]
            rows.append(
                (
                    f"Case 5, {n} x 17: scan CPU per call against the same run's shared-client floor "
                    "(informational: the floor is plain boto3, with dateutil timestamps and botocore's "
                    "parser, whole process; not like-for-like)",
                    f"{pc / floor:.2f}x ({pc:.2f} / {floor:.2f} ms)",
                    "info",
                )
            )
            rows.append((f"Case 5, {n} x 17: peak RSS <= 250 MB", f"{p['rss_mb']:.0f} MB", verdict(p["rss_mb"] <= 250)))
        if n == 1000:
            wall = f"{p['median']:.2f} s"
            rows.append((f"Case 5, {n} x 17 at 100 ms: wall <= 45 s", wall, verdict(p["median"] <= 45)))
        rows.append((f"Case 5, {n} accounts: every host once, owner = account", "checked", verdict(row["check"]["ok"])))
    workers = (c5 or {}).get("workers", [])
    if len(workers) >= 2:
        low, high = workers[0], workers[-1]
        grow = high["plugin"]["rss_mb"] - low["plugin"]["rss_mb"]
        rows.append(
            (
                f"Case 5: RSS does not grow with max_workers ({low['workers']} -> {high['workers']})",
                f"{low['plugin']['rss_mb']:.0f} -> {high['plugin']['rss_mb']:.0f} MB",
                verdict(grow <= 0.1 * low["plugin"]["rss_mb"]),
            )
        )
    c6 = results.get("case6")
    if c6:
        p = c6["plugin"]["median"]
        rows.append(("Case 6 (seed fleet, fast stand-in) <= 1.2 s", f"{p:.2f} s", verdict(p <= 1.2)))
        if "aws_ec2" in c6:
            ratio = c6["aws_ec2"]["median"] / p
            rows.append(("Case 6 >= 20x faster than aws_ec2", f"{ratio:.1f}x", verdict(ratio >= 20)))
    return rows


def chart(results: dict) -> str | None:
    c2 = results.get("case2")
    if not c2 or not c2["rows"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [row["accounts"] for row in c2["rows"]]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.plot(xs, [row["plugin"]["median"] for row in c2["rows"]], "o-", label="crossaccount.aws.ec2 (one file)")
    ax.plot(xs, [row["scan_floor"]["median"] for row in c2["rows"]], "s--", label="scan floor (bare boto3 pool)")
    aws = [(row["accounts"], row["aws_ec2"]["median"]) for row in c2["rows"] if "aws_ec2" in row]
    if aws:
        ax.plot([a for a, _ in aws], [t for _, t in aws], "^-", label="amazon.aws.aws_ec2 (one file per account)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("accounts (2 regions each, 50 ms per API call)")
    ax.set_ylabel("wall time of the whole process (s, median)")
    ax.set_title("Wall time against the number of accounts")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART)
    return CHART


def report(results: dict, elapsed: float) -> str:
    v = results["versions"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/bench.py); do not edit by hand: the analysis below the",
        "tables comes from bench/analysis.md.",
        "",
        f"Run: {v['date']}, {elapsed / 60:.1f} minutes in total "
        + ("(quick subset)" if QUICK else "(full run)")
        + f". Measured runs per variant: {RUNS}; case 3: {RUNS_LARGE} lean, {RUNS_ALL} with every attribute.",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {val} |" for k, val in v.items()]
    lines += [
        "",
        "Every time is the wall time of a whole process (`ansible-inventory --list` unless said otherwise),",
        "with its CPU time (user + system, median) and peak RSS from the child's rusage. On a shared machine",
        "(see the load average above) wall times are inflated by waiting for a core; CPU time is not.",
        "The AWS stand-in is moto in its own process behind a layer that adds a fixed latency to every",
        "API call (moto's CPU is in neither number, but it runs on the same 2 cores). The scan floor is",
        "bench/scan_floor.py (bare boto3 thread pool, 16 workers, same calls). ansible-core's floor is",
        "the same inventory read back from a static JSON inventory script.",
        "",
        "## Targets",
        "",
        "| Target | Measured | |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results)]
    c1 = results.get("case1")
    if c1:
        lines += [
            "",
            f"## Case 1: seed fleet ({c1['accounts']} accounts x {c1['regions']} regions, "
            f"{c1['instances']} instances, 50 ms per call)",
            "",
            "| Variant | Wall (median, min-max), CPU, peak RSS |",
            "|---|---|",
            f"| crossaccount.aws.ec2 | {fmt(c1['plugin'])} |",
            f"| crossaccount.aws.ec2, cached rerun (case 4) | {fmt(c1.get('cached'))} |",
            f"| amazon.aws.aws_ec2, one file per account | {fmt(c1.get('aws_ec2'))} |",
            f"| scan floor (bare boto3) | {fmt(c1['scan_floor'])} |",
            f"| ansible-core floor (static JSON script) | {fmt(c1['ansible_floor'])} |",
            f"| ansible-inventory with a one-host plugin | {fmt(c1.get('one_host'))} |",
            "",
            f"Check: {c1['check']['hosts']} hosts, {c1['check']['unique']} distinct instances of "
            f"{c1['instances']}, errors {c1['check']['errors']}"
            + (f"; aws_ec2 found {c1['aws_ec2_check']['unique']}" if "aws_ec2_check" in c1 else "")
            + ".",
        ]
        if "aws_ec2" in c1:
            lines.append(f"aws_ec2 / crossaccount.aws.ec2 = {c1['aws_ec2']['median'] / c1['plugin']['median']:.1f}x.")
    c2 = results.get("case2")
    if c2 and c2["rows"]:
        lines += [
            "",
            f"## Case 2: accounts (x {len(c2['regions'])} regions, {c2['per_region']} instances each, 50 ms per call)",
            "",
            "| Accounts | Tasks | crossaccount.aws.ec2 | scan floor | 1.3 x floor + 2 s | amazon.aws.aws_ec2 "
            "| aws_ec2 / ours |",
            "|---:|---:|---|---|---:|---|---:|",
        ]
        for row in c2["rows"]:
            aws = row.get("aws_ec2")
            lines.append(
                f"| {row['accounts']} | {row['tasks']} | {fmt(row['plugin'])} | {fmt(row['scan_floor'])} | "
                f"{1.3 * row['scan_floor']['median'] + 2:.2f} s | {fmt(aws)} | "
                + (f"{aws['median'] / row['plugin']['median']:.1f}x" if aws else "n/a")
                + " |"
            )
        bad = [row["accounts"] for row in c2["rows"] if not row["check"]["ok"]]
        lines.append("")
        lines.append("Every instance once in every row." if not bad else f"Host check FAILED at {bad} accounts.")
        if os.path.exists(CHART):
            lines += ["", f"![wall time against accounts]({os.path.basename(CHART)})"]
        if c2["sweep"]:
            lines += [
                "",
                f"### max_workers at {c2['sweep'][0]['accounts']} accounts",
                "",
                "| max_workers | crossaccount.aws.ec2 |",
                "|---:|---|",
            ]
            lines += [f"| {s['workers']} | {fmt(s['plugin'])} |" for s in c2["sweep"]]
    c3 = results.get("case3")
    if c3 and c3["variants"]:
        lines += [
            "",
            f"## Case 3: hosts ({c3['instances']} instances: {c3['accounts']} accounts x {c3['regions']} regions, "
            "20 ms per call)",
            "",
            f"Scan floor (bare boto3, moto's CPU dominates): {fmt(c3['scan_floor'])}. "
            f"Seeding took {c3['seed_seconds']:.0f} s.",
            "",
            "| Attributes | JSON out | uncached | cached rerun (case 4) | ansible-core floor | hosts checked |",
            "|---|---:|---|---|---|---|",
        ]
        for var in c3["variants"].values():
            attrs = "every attribute" if var["attributes"] is None else "lean: " + ", ".join(var["attributes"])
            checked = "ok" if var["check"]["ok"] and var["cached_check"]["ok"] else "FAILED"
            lines.append(
                f"| {attrs} | {var['check']['json_mb']:.0f} MB | {fmt(var['plugin'])} | {fmt(var['cached'])} | "
                f"{fmt(var['ansible_floor'])} | {var['check']['unique']}/{c3['instances']} {checked} |"
            )
        exports = [(name, var["export"]) for name, var in c3["variants"].items() if var.get("export")]
        if exports:
            lines += [
                "",
                "CMDB export (`ansible-playbook crossaccount.aws.cmdb_export`, inventory served from the cache):",
                "",
                "| Attributes | Wall, CPU, peak RSS | CSV rows |",
                "|---|---|---|",
            ]
            lines += [
                f"| {name} | {fmt(e)} | {e['rows']}/{c3['instances']} {'ok' if e['ok'] else 'FAILED'} |"
                for name, e in exports
            ]
        elif c3["variants"]:
            lines += ["", "CMDB export: not measured (playbooks/cmdb_export.yml absent or BENCH_EXPORT=0)."]
    c5 = results.get("case5")
    if c5 and c5["rows"]:
        lines += [
            "",
            f"## Case 5: organisation scale ({c5['regions']} regions per account, 8 instances per account, "
            f"{c5['latency_ms']} ms per call, fast stand-in)",
            "",
            "The fast stand-in (tests/support/fast_aws.py) answers from pre-rendered XML keyed by the account of",
            "the signing key; every host is checked to be listed once, under the account that owns it. CPU per",
            "call: the whole process's CPU / API calls; the plugin's share (the scan) subtracts the same inventory",
            "served from the plugin's cache (start-up, loading the hosts, the JSON output). The shared-client floor",
            f"is bench/scan_floor.py --shared, {c5.get('floor_threads', 64)} threads: a bare boto3 pool with one client"
            " per region and",
            "credentials chosen per request (it parses timestamps; the plugin does not). The three take turns",
            "(plugin, cached, floor, plugin, ...), so that each comparison is of the same minutes. Steal: the share",
            "of the machine's CPU the hypervisor took during those runs; it inflates wall and CPU times alike.",
            "",
            "| Accounts | API calls | crossaccount.aws.ec2 (defaults) | CPU/call (scan share) | served from the cache "
            "| shared-client floor | floor CPU/call | load before/after, steal |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in c5["rows"]:
            pc = row["per_call"]
            lines.append(
                f"| {row['accounts']} | {row['calls']} | {fmt(row['plugin'])} | {pc['cpu_ms']:.2f} ms "
                f"({pc.get('plugin_cpu_ms', 0):.2f} ms) | {fmt(row['ansible_floor'])} | {fmt(row['scan_floor'])} | "
                f"{row['floor_per_call']['cpu_ms']:.2f} ms | {row['load_before']:.1f} / {row['load_after']:.1f}, "
                f"{row.get('steal_pct', 0):.0f} % |"
            )
        singles = [row for row in c5["rows"] if row.get("one_process")]
        if singles:
            lines += [
                "",
                "The default `scan_processes: 0` (automatic: one process per usable CPU, at most 4, from 20",
                "accounts; peak RSS summed over the processes) against `scan_processes: 1`, taking turns:",
                "",
                "| Accounts | default | scan_processes: 1 | speed-up |",
                "|---|---|---|---|",
            ]
            for row in singles:
                speed = row["one_process"]["median"] / row["plugin"]["median"]
                lines.append(f"| {row['accounts']} | {fmt(row['plugin'])} | {fmt(row['one_process'])} | {speed:.2f}x |")
        sample = c5.get("aws_ec2_sample")
        if sample:
            per = sample["per_account_s"]
            ok = "every host once" if sample["check"]["ok"] else f"**wrong host count: {sample['check']}**"
            lines += [
                "",
                f"amazon.aws.aws_ec2 on a sample, in the same run: {sample['accounts']} accounts x {c5['regions']} "
                f"regions, one file per account, {fmt(sample['plugin'])} ({ok}), {per:.1f} s per account. It reads "
                "the files one after the other and each file its regions one after the other, so it scales "
                "with the accounts:",
                "",
                "| Accounts | aws_ec2, scaled from the sample | crossaccount.aws.ec2, measured | ratio |",
                "|---|---|---|---|",
            ]
            for row in c5["rows"]:
                est = per * row["accounts"]
                ours_s = row["plugin"]["median"]
                lines.append(f"| {row['accounts']} | ~{est:.0f} s | {ours_s:.1f} s | ~{est / ours_s:.0f}x |")
        if c5["workers"]:
            lines += ["", "| max_workers | Wall, CPU, peak RSS (RSS per worker) |", "|---|---|"]
            base = c5["workers"][0]["plugin"]["rss_mb"]
            for w in c5["workers"]:
                m = w["plugin"]
                extra = (m["rss_mb"] - base) / max(1, w["workers"] - c5["workers"][0]["workers"])
                label = f"{w['workers']} ({w['accounts']} accounts)"
                lines.append(f"| {label} | {fmt(m)} ({extra:+.2f} MB per extra worker) |")
    c6 = results.get("case6")
    if c6:
        lines += [
            "",
            f"## Case 6: seed fleet on the fast stand-in ({c6['accounts']} accounts x {c6['regions']} regions, "
            f"{c6['instances']} instances, 50 ms)",
            "",
            "| Variant | Wall (median, min-max), CPU, peak RSS |",
            "|---|---|",
            f"| crossaccount.aws.ec2 | {fmt(c6['plugin'])} |",
        ]
        if "aws_ec2" in c6:
            lines.append(f"| amazon.aws.aws_ec2, one file per account | {fmt(c6['aws_ec2'])} |")
    analysis = os.path.join(BENCH, "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as fh:
            lines += ["", fh.read().rstrip()]
    return "\n".join(lines) + "\n"


def write_report(results: dict) -> None:
    chart(results)
    with open(OUT, "w") as fh:
        fh.write(report(results, results["elapsed"]))


def main() -> int:
    if sys.argv[1:] == ["--report"]:  # rewrite the Markdown and the chart from the last run's results
        with open(os.path.join(WORK, "results.json")) as fh:
            write_report(json.load(fh))
        log(f"report rewritten: {OUT}")
        return 0
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(os.path.join(WORK, "ansible-local"), exist_ok=True)
    started = time.monotonic()
    code = snapshot_collection()
    results: dict = {"versions": versions(), "quick": QUICK}
    results["versions"]["collection measured"] = f"crossaccount.aws at {code}"
    log(f"cases {sorted(CASES)}, {RUNS} runs ({RUNS_LARGE} for case 3); results to {OUT}")
    if "1" in CASES:
        case_seed_fleet(results)
    if "2" in CASES:
        case_accounts(results)
    if "3" in CASES:
        case_hosts(results)
    if "5" in CASES:
        case_org_scale(results)
    if "6" in CASES:
        case_seed_fast(results)
    elapsed = time.monotonic() - started
    results["elapsed"] = elapsed
    results["versions"]["load average at end (1, 5, 15 min)"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with open(os.path.join(WORK, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    write_report(results)
    log(f"done in {elapsed / 60:.1f} min: {OUT}")
    for row in targets(results):
        log(" | ".join(row))
    return 0


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(4096, hard)), hard))
    sys.exit(main())
