# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What botocore knows, read without importing botocore's client stack.

Configuration checks need the list of EC2 regions and of instance attribute names. Both are read
from botocore's own data files (``endpoints.json``, the EC2 service model), so that a run served
from the inventory cache never pays for importing botocore (~0.2 s); botocore itself is the
fallback when its data cannot be read that way (``AWS_DATA_PATH``, another layout).

It also keeps the trimmed copies of what a scan's clients load (models, endpoint data), and the
botocore loader that serves them (``data_loader``, called only where botocore is imported anyway).
"""

from __future__ import annotations

from typing import Any


def require_botocore_installed() -> None:
    """Fail with one clear line when botocore is missing, without importing it: a run served from
    the cache never imports botocore's client stack (~0.2 s)."""
    import importlib.util

    if importlib.util.find_spec("botocore") is None:
        from ansible_collections.crossaccount.aws.plugins.module_utils.errors import missing_botocore

        raise missing_botocore("No module named 'botocore'")


def _data_file(*parts: str) -> Any:
    """A JSON file of botocore's own data directory (.json or .json.gz), read without importing
    botocore; None when it cannot be read that way (the callers then ask botocore itself)."""
    import os

    data_dir = _botocore_data_dir()
    if os.environ.get("AWS_DATA_PATH") or not data_dir:  # extra model directories: let botocore resolve them
        return None
    try:
        return _load_json(_json_path(os.path.join(data_dir, *parts)))
    except (OSError, ValueError, EOFError):
        return None


def _json_path(path: str) -> str:
    """``path`` (a botocore data file named .json), or its .json.gz when only that exists."""
    import os

    return path if os.path.exists(path) or not os.path.exists(path + ".gz") else path + ".gz"


def known_regions(cache_root: str | None = None) -> frozenset[str]:
    """Every EC2 region of every partition, as botocore's endpoint data lists them (from the
    trimmed-model cache under ``cache_root`` when there is one: endpoints.json is ~1 MB)."""
    facts = cached_facts(cache_root)
    if facts and isinstance(facts.get("regions"), list) and facts["regions"]:
        return frozenset(str(region) for region in facts["regions"])
    data = _data_file("endpoints.json")
    try:
        regions = _regions_of(data)
        if regions:
            return frozenset(regions)
    except (KeyError, TypeError):
        pass
    import botocore.session

    session = botocore.session.get_session()
    regions = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


def known_attributes(cache_root: str | None = None) -> frozenset[str]:
    """Snake_case names of every DescribeInstances instance attribute (plus the reservation's)."""
    from ansible_collections.crossaccount.aws.plugins.module_utils.values import snake

    facts = cached_facts(cache_root)
    members = facts.get("instance_members") if facts else None
    try:
        if not (isinstance(members, list) and members):
            members = None
        if members is None:
            data_dir = _botocore_data_dir()
            latest = _latest_model(data_dir, "ec2") if data_dir else None
            model = _data_file("ec2", latest[0], "service-2.json") if latest else None
            members = list(model["shapes"]["Instance"]["members"])
    except (KeyError, TypeError):
        members = None
    if not members:
        import botocore.session

        members = list(botocore.session.get_session().get_service_model("ec2").shape_for("Instance").members)
    names = {snake(m) for m in members if m != "Tags"}
    names.update({"owner_id", "requester_id", "reservation_id"})
    return frozenset(names)


# ---------------------------------------------------------------------------------------------
# Trimmed models: what botocore parses in every process that makes a client, kept small on disk.
#
# botocore parses a service's whole model when it makes the first client of that service: for EC2,
# 4,000 shapes and 765 operations (~0.1 s of CPU and ~15 MB here), of which the scan calls two.
# The first run writes a copy of each model that keeps only the operations the engine calls and the
# shapes they reach (~40 KB for EC2), next to the region and attribute lists the configuration
# checks read; later runs hand that directory to botocore as a data path (its public ``data_path``
# setting, the one AWS_DATA_PATH sets), which botocore searches before its own data. Every other
# file (rule sets, other services) still comes from botocore's own directory; the endpoint data
# comes trimmed through the session's loader (data_loader, below).

# The operations each trimmed service keeps: every call the engine makes on that service. A call
# missing here would not exist on the client (tests/unit/.../test_botocore_data.py checks the
# engine's call sites against this table).
TRIMMED_OPERATIONS: dict[str, tuple[str, ...]] = {
    "ec2": ("DescribeInstances", "DescribeRegions"),
    "ssm": ("DescribeInstanceInformation",),
}
_FORMAT = 3  # bump when what is written changes
_FACTS = "facts.json"

# What botocore's Loader works out in every process that makes a client, worked out once with the
# trimmed models (data_loader): ~42 ms of the first client on the slow VM.
# - Which services exist, per model type: botocore lists its ~420 data directories for each type
#   the first time (~10 ms each) only to check that the service asked for is one of them.
# - endpoints.json (~1.2 MB, ~22 ms to parse): the trimmed copy keeps every partition whole, with
#   the endpoint entries (keyed by each service's endpointPrefix) of the services this session
#   makes clients of: the engine's, and those botocore's credential providers make from the same
#   session (AssumeRole and web identity: sts; SSO: sso, sso-oidc; console login: signin). A
#   service outside it is answered from botocore's whole file, read on that first miss, so the
#   trim only ever changes speed (tests/unit/.../test_botocore_data.py checks both lists).
_LISTED_TYPES = ("service-2", "endpoint-rule-set-1")
CLIENT_SERVICES = ("ec2", "organizations", "signin", "sso", "sso-oidc", "ssm", "sts")
_ENDPOINTS = "endpoints-trimmed.json"  # never "endpoints.json": botocore must not find it by name

_data_caches: dict[str, str | None] = {}


def _botocore_data_dir() -> str | None:
    import importlib.util
    import os

    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.origin:
        return None
    return os.path.join(os.path.dirname(spec.origin), "data")


def _latest_model(data_dir: str, service: str) -> tuple[str, str] | None:
    """(api version, path) of botocore's newest ``service-2`` model of ``service``."""
    import os

    try:
        versions = sorted(os.listdir(os.path.join(data_dir, service)))
    except OSError:
        return None
    for version in reversed(versions):
        path = _json_path(os.path.join(data_dir, service, version, "service-2.json"))
        if os.path.isfile(path):
            return version, path
    return None


def _customer_models_present() -> bool:
    """True when ~/.aws/models (botocore's customer data path) holds a model we would trim: it
    comes before botocore's own data, and a trimmed copy must not shadow it."""
    import os

    base = os.path.expanduser(os.path.join("~", ".aws", "models"))
    return any(os.path.isdir(os.path.join(base, service)) for service in TRIMMED_OPERATIONS)


def _reachable_shapes(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """The shapes the operations' input, output and errors reach, without documentation."""
    todo = []
    for name in operations:
        operation = model["operations"][name]
        todo.extend(operation[key]["shape"] for key in ("input", "output") if key in operation)
        todo.extend(error["shape"] for error in operation.get("errors", ()))
    shapes: dict[str, Any] = {}
    while todo:
        name = todo.pop()
        if name in shapes:
            continue
        shape = {k: v for k, v in model["shapes"][name].items() if k != "documentation"}
        if "members" in shape:
            shape["members"] = {
                member: {k: v for k, v in ref.items() if k != "documentation"}
                for member, ref in shape["members"].items()
            }
            todo.extend(ref["shape"] for ref in shape["members"].values())
        todo.extend(shape[key]["shape"] for key in ("member", "key", "value") if key in shape)
        shapes[name] = shape
    return shapes


def trim_model(model: dict[str, Any], operations: tuple[str, ...]) -> dict[str, Any]:
    """``model`` (a botocore ``service-2`` document) with only ``operations`` and their shapes."""
    kept = {}
    for name in operations:
        kept[name] = {k: v for k, v in model["operations"][name].items() if k != "documentation"}
    trimmed = {k: v for k, v in model.items() if k not in ("operations", "shapes", "documentation")}
    trimmed["operations"] = kept
    trimmed["shapes"] = _reachable_shapes(model, operations)
    return trimmed


def _owned_private_dir(path: str) -> bool:
    """True when ``path`` is a real directory of this user that nobody else may write: a
    directory another user can change could hand botocore a different model."""
    import os
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    return (
        stat.S_ISDIR(st.st_mode)
        and (getuid is None or st.st_uid == getuid())
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _load_json(path: str) -> Any:
    import gzip
    import json

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return json.load(fh)


def _cache_is_complete(directory: str, sources: dict[str, tuple[str, str]]) -> bool:
    import os

    try:
        facts = _load_json(os.path.join(directory, _FACTS))
        if not (isinstance(facts, dict) and facts.get("format") == _FORMAT):
            return False
        if _loader_answers(directory) is None:
            return False
        for service, (version, _path) in sources.items():
            model = _load_json(os.path.join(directory, service, version, "service-2.json"))
            if set(model["operations"]) != set(TRIMMED_OPERATIONS[service]):
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return False


def _write_cache(root: str, directory: str, sources: dict[str, tuple[str, str]], data_dir: str) -> bool:
    """Write the trimmed models and facts into a new directory under ``root``, then rename it to
    ``directory`` in one step: a concurrent run sees all of it or none of it."""
    import json
    import os
    import shutil
    import tempfile

    os.makedirs(root, mode=0o700, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".staging-", dir=root)
    try:
        instance_members: list[str] = []
        for service, (version, path) in sources.items():
            model = _load_json(path)
            if service == "ec2":
                instance_members = list(model["shapes"]["Instance"]["members"])
            os.makedirs(os.path.join(staging, service, version), mode=0o700)
            with open(os.path.join(staging, service, version, "service-2.json"), "w") as fh:
                json.dump(trim_model(model, TRIMMED_OPERATIONS[service]), fh, separators=(",", ":"))
        endpoints = _load_json(_json_path(os.path.join(data_dir, "endpoints.json")))
        prefixes = _endpoint_prefixes(data_dir)
        facts = {
            "format": _FORMAT,
            "regions": sorted(_regions_of(endpoints)),
            "instance_members": instance_members,
            "services": {type_name: _services_of(data_dir, type_name) for type_name in _LISTED_TYPES},
            # every key the trimmed endpoint data was cut to: one of these that a partition lacks is
            # not in botocore's file either
            "endpoint_prefixes": sorted(prefixes),
        }
        with open(os.path.join(staging, _ENDPOINTS), "w") as fh:
            json.dump(trim_endpoints(endpoints, prefixes), fh, separators=(",", ":"))
        with open(os.path.join(staging, _FACTS), "w") as fh:
            json.dump(facts, fh)
        try:
            os.rename(staging, directory)
        except OSError:
            if not _cache_is_complete(directory, sources):  # not another run's complete copy
                raise
            shutil.rmtree(staging, ignore_errors=True)
        return True
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        shutil.rmtree(staging, ignore_errors=True)
        return False


def trim_endpoints(endpoints: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """botocore's endpoint data with every partition whole but the endpoint entries of only the
    services keyed ``keep`` (endpoint prefixes)."""
    return {
        **endpoints,
        "partitions": [
            {**partition, "services": {k: v for k, v in partition["services"].items() if k in keep}}
            for partition in endpoints["partitions"]
        ],
    }


def _endpoint_prefixes(data_dir: str) -> set[str]:
    """The keys of ``CLIENT_SERVICES`` in botocore's endpoint data: each model's endpointPrefix
    (the SSO portal's is ``portal.sso``, SSO OIDC's ``oidc``), and the client name itself."""
    prefixes = set(CLIENT_SERVICES)
    for service in CLIENT_SERVICES:
        latest = _latest_model(data_dir, service)
        if latest:
            prefix = _load_json(latest[1]).get("metadata", {}).get("endpointPrefix")
            if isinstance(prefix, str):
                prefixes.add(prefix)
    return prefixes


def _services_of(data_dir: str, type_name: str) -> list[str]:
    """The services botocore's data directory has a ``type_name`` model of, sorted: what botocore's
    ``Loader.list_available_services`` answers for that directory (a directory with an API version
    holding ``type_name``.json or .json.gz)."""
    import os

    services = []
    for name in os.listdir(data_dir):
        service_dir = os.path.join(data_dir, name)
        if not os.path.isdir(service_dir):
            continue
        for version in os.listdir(service_dir):
            base = os.path.join(service_dir, version, type_name)
            if os.path.isfile(base + ".json") or os.path.isfile(base + ".json.gz"):
                services.append(name)
                break
    return sorted(services)


def _regions_of(endpoints: Any) -> set[str]:
    return {
        name
        for partition in endpoints["partitions"]
        for name in partition["services"]["ec2"]["endpoints"]
        if name in partition["regions"]
    }


def data_cache(root: str | None) -> str | None:
    """The directory of trimmed models for the installed botocore, under ``root`` (written on
    first use), or None when there is none to use: no root, ``AWS_DATA_PATH`` or ~/.aws/models
    in use (their models must win), botocore's data not readable as files, ``root`` not writable,
    or a directory another user could change. Never raises: None only costs the full models."""
    if not root:
        return None
    if root in _data_caches:
        return _data_caches[root]
    try:
        result = _data_cache(root)
    except Exception:  # noqa: BLE001 - a damaged botocore install or copy costs only speed
        result = None
    _data_caches[root] = result
    return result


def _data_cache(root: str) -> str | None:
    import hashlib
    import os
    import shutil

    # botocore splits its data path on os.pathsep and expands ~ and $VARS in each part: a root
    # that would change under that could add a relative directory (searched first) to the path
    if not os.path.isabs(root) or os.pathsep in root or os.path.expanduser(os.path.expandvars(root)) != root:
        return None
    result = None
    data_dir = _botocore_data_dir()
    if data_dir and not os.environ.get("AWS_DATA_PATH") and not _customer_models_present():
        sources = {service: _latest_model(data_dir, service) for service in TRIMMED_OPERATIONS}
        if all(sources.values()):
            found = {service: source for service, source in sources.items() if source}
            # the operations kept are part of the key: collection versions that keep different
            # ones never share (and rewrite) one copy
            stamp = [_FORMAT, sorted(TRIMMED_OPERATIONS.items()), CLIENT_SERVICES, _LISTED_TYPES, data_dir]
            try:
                for _version, path in [*found.values(), (None, _json_path(os.path.join(data_dir, "endpoints.json")))]:
                    st = os.stat(path)
                    stamp.append((path, st.st_size, st.st_mtime_ns))
                key = hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]
                directory = os.path.join(root, f"botocore-data-{key}")
                if os.path.isdir(root) and not _owned_private_dir(root):
                    pass  # another user can write the root: do not trust what is in it
                elif _owned_private_dir(directory) and _cache_is_complete(directory, found):
                    result = directory
                else:
                    # ours but incomplete or damaged (checked again: another run may just have
                    # finished writing it): write it again
                    if _owned_private_dir(directory) and not _cache_is_complete(directory, found):
                        shutil.rmtree(directory, ignore_errors=True)
                    if not os.path.lexists(directory) and _write_cache(root, directory, found, data_dir):
                        result = directory if _owned_private_dir(directory) else None
            except OSError:
                result = None
    return result


def _loader_answers(directory: str) -> tuple[dict[str, list[str]], dict[str, Any], list[str]] | None:
    """(services per model type, trimmed endpoint data, the keys it was cut to) of a cache
    directory, or None when they do not read as written (the cache is then written again, and
    botocore's own loader used)."""
    import os

    try:
        facts = _load_json(os.path.join(directory, _FACTS))
        services = {t: facts["services"][t] for t in _LISTED_TYPES}
        prefixes = facts["endpoint_prefixes"]
        endpoints = _load_json(os.path.join(directory, _ENDPOINTS))
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None
    lists = [*services.values(), prefixes]
    lists_ok = all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in lists)
    partitions = endpoints.get("partitions") if isinstance(endpoints, dict) else None
    if not (lists_ok and isinstance(partitions, list) and partitions):
        return None
    if not all(isinstance(p, dict) and isinstance(p.get("services"), dict) and "partition" in p for p in partitions):
        return None
    return services, endpoints, prefixes


_loader_class: list[type] = []


def data_loader(directory: str) -> Any:
    """botocore's ``Loader`` for a session whose ``data_path`` is ``directory`` (a trimmed-model
    cache of ``data_cache``), answering from what that cache worked out once: the services of each
    model type and the trimmed endpoint data (a service it does not keep is answered from
    botocore's whole file, read on that first miss). Registered as the session's public
    ``data_loader`` component. None, and botocore's own loader then, when the lists could differ
    from botocore's: botocore's customer model directory (~/.aws/models) exists, botocore's data is
    not where the cache was made from, or the cache's files do not read as expected."""
    import os

    answers = _loader_answers(directory)
    if answers is None:
        return None
    from botocore import loaders

    customer = {os.path.expanduser(os.path.join("~", ".aws", "models")), loaders.Loader.CUSTOMER_DATA_PATH}
    if any(os.path.isdir(path) for path in customer):
        return None
    if os.path.normpath(loaders.Loader.BUILTIN_DATA_PATH) != os.path.normpath(_botocore_data_dir() or ""):
        return None
    if not _loader_class:
        _loader_class.append(_precomputed_loader_class(loaders.Loader))
    return _loader_class[0](directory, *answers)


def _precomputed_loader_class(base: type) -> type:
    import os
    import threading

    class KeptServices(dict):
        """One partition's endpoint entries as kept; any other service's from botocore's file."""

        def __init__(self, kept: dict[str, Any], prefixes: frozenset[str], whole: Any) -> None:
            super().__init__(kept)
            self._cut_to = prefixes  # kept when botocore's file had them: the others it lacks
            self._whole = whole  # () -> that partition's services in botocore's whole file

        def __missing__(self, key: str) -> Any:
            if key in self._cut_to:
                raise KeyError(key)
            return self._whole()[key]

        def __contains__(self, key: object) -> bool:
            if dict.__contains__(self, key):
                return True
            return key not in self._cut_to and key in self._whole()

        def get(self, key: str, default: Any = None) -> Any:
            return self[key] if key in self else default

    class PrecomputedLoader(base):  # type: ignore[misc, valid-type]
        """botocore's Loader, with two answers given instead of worked out again."""

        def __init__(
            self, directory: str, services: dict[str, list[str]], endpoints: dict[str, Any], prefixes: list[str]
        ) -> None:
            super().__init__(extra_search_paths=[directory])
            cut_to = frozenset(prefixes)
            self._listed = {t: sorted(v) for t, v in services.items()}
            self._lock = threading.Lock()
            self._whole: dict[str, Any] | None = None
            trimmed = {
                **endpoints,
                "partitions": [
                    {**p, "services": KeptServices(p["services"], cut_to, self._whole_services(p["partition"]))}
                    for p in endpoints["partitions"]
                ],
            }
            # the trimmed data stands for botocore's own file: its path keeps botocore's
            # resolution of bundled endpoint data (is_builtin_path)
            self._endpoints = (trimmed, os.path.join(self.BUILTIN_DATA_PATH, "endpoints"))

        def _whole_services(self, partition: str) -> Any:
            def services() -> dict[str, Any]:
                if self._whole is not None:
                    return self._whole.get(partition, {})
                with self._lock:
                    if self._whole is None:
                        whole, _path = super(PrecomputedLoader, self).load_data_with_path("endpoints")
                        self._whole = {p["partition"]: p["services"] for p in whole["partitions"]}
                return self._whole.get(partition, {})

            return services

        def list_available_services(self, type_name: str) -> list[str]:
            listed = self._listed.get(type_name)
            return list(listed) if listed is not None else super().list_available_services(type_name)

        def load_data_with_path(self, name: str) -> Any:
            if name == "endpoints":
                return self._endpoints
            return super().load_data_with_path(name)

    return PrecomputedLoader


def cached_facts(root: str | None) -> dict[str, Any] | None:
    """The region and attribute lists saved beside the trimmed models, or None."""
    import os

    directory = data_cache(root)
    if directory is None:
        return None
    try:
        facts = _load_json(os.path.join(directory, _FACTS))
    except Exception:  # noqa: BLE001 - the checks then read botocore's own data
        return None
    return facts if isinstance(facts, dict) else None
