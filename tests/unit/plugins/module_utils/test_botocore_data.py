from __future__ import annotations

import botocore.session

from ansible_collections.crossaccount.aws.plugins.module_utils import botocore_data


def test_known_regions_match_botocore_itself():
    session = botocore.session.get_session()
    expected = set()
    for partition in session.get_available_partitions():
        expected.update(session.get_available_regions("ec2", partition_name=partition))
    regions = botocore_data.known_regions()
    assert regions == frozenset(expected)
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= regions


def test_known_regions_fall_back_to_botocore_when_its_data_cannot_be_read(monkeypatch):
    monkeypatch.setenv("AWS_DATA_PATH", "/nonexistent")
    assert "us-east-1" in botocore_data.known_regions()


def test_known_attributes_are_the_snake_case_instance_members():
    attributes = botocore_data.known_attributes()
    assert {"instance_id", "instance_type", "private_ip_address", "launch_time", "placement"} <= attributes
    assert {"owner_id", "requester_id", "reservation_id"} <= attributes
    assert "tags" not in attributes


def test_require_botocore_installed_passes_here():
    botocore_data.require_botocore_installed()


# -- trimmed models (botocore_data.data_cache) ----------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import stat  # noqa: E402

import botocore.loaders  # noqa: E402
import botocore.model  # noqa: E402
import pytest  # noqa: E402

from ansible_collections.crossaccount.aws.plugins.module_utils.clients import ClientFactory  # noqa: E402
from ansible_collections.crossaccount.aws.plugins.module_utils.values import snake  # noqa: E402

MODULE_UTILS = os.path.dirname(botocore_data.__file__)


@pytest.fixture
def root(tmp_path, monkeypatch, no_aws_settings):
    monkeypatch.setattr(botocore_data, "_data_caches", {})
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    return str(tmp_path / "home" / "crossaccount.aws")


def _shape_tree(shape, seen=None):
    """A shape as plain data, members and serialization included, recursion cut by name."""
    seen = set() if seen is None else seen
    if shape is None:
        return None
    node = {"name": shape.name, "type": shape.type_name, "serialization": shape.serialization}
    if shape.name in seen:
        return node
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        node["members"] = {name: _shape_tree(member, seen) for name, member in shape.members.items()}
        node["required"] = shape.required_members
    elif shape.type_name == "list":
        node["member"] = _shape_tree(shape.member, seen)
    elif shape.type_name == "map":
        node["key"], node["value"] = _shape_tree(shape.key, seen), _shape_tree(shape.value, seen)
    else:
        node["enum"] = getattr(shape, "enum", None)
    return node


def _factory(data_path):
    return ClientFactory(
        profile=None,
        retry_mode="standard",
        max_attempts=3,
        max_pool_connections=10,
        connect_timeout=5,
        read_timeout=5,
        data_path=data_path,
    )


def _model(loader, service):
    return botocore.model.ServiceModel(loader.load_service_model(service, "service-2"), service_name=service)


def test_the_cache_keeps_exactly_the_operations_the_engine_calls_with_the_same_shapes(root):
    directory = botocore_data.data_cache(root)
    assert directory and directory.startswith(root)
    assert stat.S_IMODE(os.stat(root).st_mode) & 0o077 == 0
    full_loader = botocore.loaders.Loader()
    trimmed_loader = botocore.loaders.Loader(extra_search_paths=[directory])
    for service, operations in botocore_data.TRIMMED_OPERATIONS.items():
        full, trimmed = _model(full_loader, service), _model(trimmed_loader, service)
        assert sorted(trimmed.operation_names) == sorted(operations)
        assert len(full.operation_names) > 10 * len(operations)  # it is trimmed
        assert trimmed.metadata == full.metadata
        for name in operations:
            a, b = full.operation_model(name), trimmed.operation_model(name)
            assert _shape_tree(b.input_shape) == _shape_tree(a.input_shape)
            assert _shape_tree(b.output_shape) == _shape_tree(a.output_shape)
            assert [e.name for e in b.error_shapes] == [e.name for e in a.error_shapes]
            assert b.http == a.http


def test_a_client_of_the_factory_uses_the_trimmed_model_and_botocore_keeps_its_other_files(root):
    # guards botocore's data_path setting: if botocore stopped searching it first, clients would
    # quietly use the full models again (slower, still right); this test says so loudly
    directory = botocore_data.data_cache(root)
    factory = _factory(directory)
    ec2 = factory.client("ec2", "eu-west-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    assert sorted(ec2.meta.service_model.operation_names) == ["DescribeInstances", "DescribeRegions"]
    assert ec2.meta.endpoint_url == "https://ec2.eu-west-1.amazonaws.com"  # rule sets: botocore's own
    sts = factory.client("sts", "us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    assert "AssumeRole" in sts.meta.service_model.operation_names  # not trimmed: the full model


def test_every_call_the_engine_makes_on_a_trimmed_service_is_kept():
    # the call sites of the trimmed services: a call missing from TRIMMED_OPERATIONS would not
    # exist on the client
    kept = {snake(op) for ops in botocore_data.TRIMMED_OPERATIONS.values() for op in ops}
    calls = set()
    for name in ("scanner.py", "regions.py", "ssm.py", "responses.py"):
        with open(os.path.join(MODULE_UTILS, name)) as fh:
            calls.update(re.findall(r"\bclient\.([a-z][a-z_]+)\b", fh.read()))
    calls -= {"meta"}
    assert calls and calls <= kept, calls - kept


def test_facts_match_botocore_and_the_cache_is_reused(root):
    assert botocore_data.known_regions(root) == botocore_data.known_regions()
    assert botocore_data.known_attributes(root) == botocore_data.known_attributes()
    directory = botocore_data.data_cache(root)
    botocore_data._data_caches.clear()
    mtime = os.stat(os.path.join(directory, "facts.json")).st_mtime_ns
    assert botocore_data.data_cache(root) == directory
    assert os.stat(os.path.join(directory, "facts.json")).st_mtime_ns == mtime  # read, not rewritten


def test_a_damaged_cache_is_written_again(root):
    directory = botocore_data.data_cache(root)
    model = os.path.join(directory, "ec2", sorted(os.listdir(os.path.join(directory, "ec2")))[-1], "service-2.json")
    with open(model, "w") as fh:
        fh.write('{"operations": {')  # cut short
    botocore_data._data_caches.clear()
    assert botocore_data.data_cache(root) == directory
    with open(model) as fh:
        assert set(json.load(fh)["operations"]) == {"DescribeInstances", "DescribeRegions"}


@pytest.mark.parametrize("case", ["no-root", "aws-data-path", "root-is-a-file", "root-group-writable"])
def test_no_cache_when_it_cannot_or_must_not_be_used(root, monkeypatch, case):
    if case == "no-root":
        root = None
    elif case == "aws-data-path":
        monkeypatch.setenv("AWS_DATA_PATH", os.path.dirname(root))  # the user's models must win
    elif case == "root-is-a-file":
        os.makedirs(os.path.dirname(root))
        open(root, "w").close()
    else:
        os.makedirs(root)
        os.chmod(root, 0o777)  # another user could change the models
    assert botocore_data.data_cache(root) is None
    assert "us-east-1" in botocore_data.known_regions(root)  # the checks still work


def test_no_cache_in_a_directory_another_user_owns(root):
    if not hasattr(os, "getuid") or os.getuid() != 0:
        pytest.skip("needs root to give the directory to another user")
    directory = botocore_data.data_cache(root)
    os.chown(directory, 65534, 65534)
    botocore_data._data_caches.clear()
    assert botocore_data.data_cache(root) is None


def test_customer_models_in_dot_aws_are_not_shadowed(root, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    os.makedirs(tmp_path / ".aws" / "models" / "ec2")
    assert botocore_data.data_cache(root) is None


def test_two_runs_writing_the_cache_at_once_leave_one_complete_copy(root):
    directory = botocore_data.data_cache(root)
    data_dir = botocore_data._botocore_data_dir()
    sources = {s: botocore_data._latest_model(data_dir, s) for s in botocore_data.TRIMMED_OPERATIONS}
    # the second writer finds the first one's copy in place when it renames its own
    assert botocore_data._write_cache(root, directory, sources, data_dir)
    assert botocore_data._cache_is_complete(directory, sources)
    assert sorted(os.listdir(root)) == [os.path.basename(directory)]  # no staging directory left


def test_a_compressed_endpoints_file_is_read_too(root, monkeypatch, tmp_path):
    # a botocore release may ship endpoints.json gzipped, as it does the service models
    import gzip
    import shutil

    real = botocore_data._botocore_data_dir()
    fake = tmp_path / "botocore-data"
    for service in botocore_data.TRIMMED_OPERATIONS:
        version, path = botocore_data._latest_model(real, service)
        os.makedirs(fake / service / version)
        shutil.copy(path, fake / service / version / os.path.basename(path))
    with open(os.path.join(real, "endpoints.json"), "rb") as src, gzip.open(fake / "endpoints.json.gz", "wb") as dst:
        dst.write(src.read())
    monkeypatch.setattr(botocore_data, "_botocore_data_dir", lambda: str(fake))
    assert botocore_data.data_cache(root)
    assert "eu-west-1" in botocore_data.known_regions(root)


def test_a_data_path_in_the_aws_config_file_wins(root, monkeypatch, tmp_path):
    # botocore also reads data_path from the profile: the user's models must not be replaced
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\ndata_path = {tmp_path / 'my-models'}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    directory = botocore_data.data_cache(root)
    factory = _factory(directory)
    paths = factory.session.get_component("data_loader").search_paths
    assert str(tmp_path / "my-models") in paths and directory not in paths


@pytest.mark.parametrize("suffix", ["a:b", "$HOME", "x/~"])
def test_a_root_botocore_would_split_or_expand_is_not_used(tmp_path, monkeypatch, suffix):
    # botocore splits data_path on os.pathsep and expands $VARS and ~: "a:b" would add the
    # relative directory "b/..." to its search path, searched before its own data
    monkeypatch.setattr(botocore_data, "_data_caches", {})
    root = str(tmp_path / suffix / "crossaccount.aws") if suffix != "x/~" else "~/crossaccount.aws"
    assert botocore_data.data_cache(root) is None
    assert not os.path.exists(str(tmp_path / "a"))


def test_data_cache_never_raises(root, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a damaged botocore install")

    monkeypatch.setattr(botocore_data, "_write_cache", broken)
    assert botocore_data.data_cache(root) is None
    assert "us-east-1" in botocore_data.known_regions(root)


def test_the_key_names_the_operations_kept(root, monkeypatch):
    first = botocore_data.data_cache(root)
    monkeypatch.setattr(botocore_data, "_data_caches", {})
    monkeypatch.setitem(botocore_data.TRIMMED_OPERATIONS, "ec2", ("DescribeInstances",))
    second = botocore_data.data_cache(root)
    assert second and second != first and os.path.isdir(first)  # the other version's copy is kept


# -- botocore's loader with the answers the cache worked out once (botocore_data.data_loader) ----

import ast  # noqa: E402
import functools  # noqa: E402

import botocore.credentials  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.regions  # noqa: E402
import botocore.tokens  # noqa: E402


@pytest.fixture
def no_aws_settings(monkeypatch, tmp_path):
    """No AWS variable, config file or customer model directory of the machine running the tests."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-aws"))
    monkeypatch.setattr(botocore.loaders.Loader, "CUSTOMER_DATA_PATH", str(tmp_path / "no-customer-models"))


@pytest.fixture
def loader(root, no_aws_settings):
    directory = botocore_data.data_cache(root)
    made = botocore_data.data_loader(directory)
    assert made is not None, "the cache was written: its loader must be used"
    return made


def _builtin_loader():
    return botocore.loaders.Loader(
        include_default_search_paths=False, extra_search_paths=[botocore.loaders.Loader.BUILTIN_DATA_PATH]
    )


@functools.cache
def _prefix(service):
    """The service's key in botocore's endpoint data (its own name when botocore has no model of it)."""
    try:
        return _builtin_loader().load_service_model(service, "service-2")["metadata"]["endpointPrefix"]
    except botocore.exceptions.UnknownServiceError:
        return service


def test_the_loader_lists_the_services_botocore_lists(loader):
    plain = botocore.loaders.Loader(extra_search_paths=[loader.search_paths[0]])
    for type_name in ("service-2", "endpoint-rule-set-1"):
        listed = loader.list_available_services(type_name)
        assert listed == plain.list_available_services(type_name)
        assert set(botocore_data.CLIENT_SERVICES) <= set(listed) and len(listed) > 300
    # a type it has no answer for is botocore's own work
    assert loader.list_available_services("paginators-1") == plain.list_available_services("paginators-1")


def _construct(resolver, *args, **kw):
    """The legacy resolver's endpoint, or the error it raises (a variant a partition lacks)."""
    try:
        return resolver.construct_endpoint(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - both resolvers must fail alike
        return f"{type(exc).__name__}: {exc}"


# what the session's clients and botocore's credential providers ask for, and some it never does
# (a global service, one without entries, one with a partition endpoint): those come from the
# whole file, so they resolve the same too
RESOLVED = (*botocore_data.CLIENT_SERVICES, "iam", "route53", "s3", "cloudfront", "account", "no-such-service")


def test_the_trimmed_endpoints_resolve_as_botocores_own(loader):
    trimmed, path = loader.load_data_with_path("endpoints")
    assert loader.is_builtin_path(path), "botocore must treat the data as its bundled data"
    full = _builtin_loader().load_data("endpoints")
    kept = {name for p in trimmed["partitions"] for name in dict.keys(p["services"])}
    assert {_prefix(s) for s in botocore_data.CLIENT_SERVICES} <= kept | {"signin"}  # signin has no entries
    assert {"portal.sso", "oidc"} <= kept and len(kept) < 20  # keyed by endpoint prefix, and trimmed
    a = botocore.regions.EndpointResolver(full, uses_builtin_data=True)
    b = botocore.regions.EndpointResolver(trimmed, uses_builtin_data=True)
    assert b.get_available_partitions() == a.get_available_partitions()
    checked = 0
    for partition in full["partitions"]:
        name = partition["partition"]
        for service in {*RESOLVED, *(_prefix(s) for s in botocore_data.CLIENT_SERVICES)}:
            assert b.get_available_endpoints(service, name) == a.get_available_endpoints(service, name)
            assert b.get_service_endpoints_data(service, name) == a.get_service_endpoints_data(service, name)
            for region in [*partition["regions"], *a.get_available_endpoints(service, name, True), None]:
                for fips in (False, True):
                    for dualstack in (False, True):
                        kw = {"use_fips_endpoint": fips, "use_dualstack_endpoint": dualstack}
                        args = (service, region, name)
                        assert _construct(b, *args, **kw) == _construct(a, *args, **kw), (args, kw)
                        checked += 1
    assert checked > 4000


@pytest.fixture
def file_reads(monkeypatch):
    """The data names botocore's own Loader.load_data_with_path is asked for, in order."""
    reads = []
    whole = botocore.loaders.Loader.load_data_with_path
    monkeypatch.setattr(
        botocore.loaders.Loader, "load_data_with_path", lambda self, n: reads.append(n) or whole(self, n)
    )
    return reads


def test_the_whole_file_is_read_only_for_a_service_it_does_not_keep(loader, file_reads):
    reads = file_reads
    resolver = botocore.regions.EndpointResolver(loader.load_data("endpoints"), uses_builtin_data=True)
    for service in botocore_data.CLIENT_SERVICES:
        resolver.construct_endpoint(_prefix(service), "eu-west-1")
    assert "endpoints" not in reads, "the services the session uses must not read botocore's whole file"
    assert resolver.construct_endpoint("iam", "aws-global")["hostname"] == "iam.amazonaws.com"
    assert reads.count("endpoints") == 1


def test_misses_from_many_threads_read_the_whole_file_once(loader, file_reads):
    import threading

    reads = file_reads
    resolver = botocore.regions.EndpointResolver(loader.load_data("endpoints"), uses_builtin_data=True)
    barrier = threading.Barrier(16)
    answers = []

    def miss():
        barrier.wait()
        answers.append(resolver.construct_endpoint("iam", "aws-global")["hostname"])

    threads = [threading.Thread(target=miss) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["iam.amazonaws.com"] * 16
    assert reads.count("endpoints") == 1


@pytest.mark.parametrize("setting", [None, "fips", "dualstack", "sts-legacy", "endpoint-url"])
def test_clients_of_the_factory_reach_the_same_endpoints(loader, monkeypatch, setting):
    if setting == "fips":
        monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    elif setting == "dualstack":
        monkeypatch.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true")
    elif setting == "sts-legacy":
        monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
    elif setting == "endpoint-url":
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "https://sts.example.internal")
    ours, plain = _factory(loader.search_paths[0]), _factory(None)
    assert type(ours.session.get_component("data_loader")).__name__ == "PrecomputedLoader"
    for service in (*botocore_data.CLIENT_SERVICES, "iam", "s3"):
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "aws-global"):
            assert _endpoint(ours, service, region) == _endpoint(plain, service, region), (service, region)


def _endpoint(factory, service, region):
    """Where a client of ``factory`` sends its calls and how it signs, or the error botocore raises."""
    try:
        meta = factory.client(service, region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x").meta
    except Exception as exc:  # noqa: BLE001 - e.g. no FIPS endpoint: both must fail alike
        return type(exc).__name__
    return meta.endpoint_url, meta.region_name, meta.partition, meta.config.signature_version


def _client_names_botocore_makes():
    """The services botocore's credential and token providers make clients of, from their source:
    ``_client_creator('sts', ...)`` and ``create_nested_client(session, "sso-oidc", ...)``."""
    names = set()
    for module in (botocore.credentials, botocore.tokens):
        with open(module.__file__) as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            literal = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if func.endswith(("client_creator", "create_nested_client", "create_client")) and literal:
                names.add(literal[0])
    return names


def test_every_client_the_session_makes_has_its_endpoints_kept():
    # a service missing here still resolves right (from botocore's whole file), only slower: this
    # says so when botocore's providers or the engine start making clients of another service
    made_by_botocore = _client_names_botocore_makes()
    assert {"sts", "sso", "sso-oidc"} <= made_by_botocore, made_by_botocore
    assert made_by_botocore <= set(botocore_data.CLIENT_SERVICES), made_by_botocore - set(botocore_data.CLIENT_SERVICES)
    engine = set()
    for name in os.listdir(MODULE_UTILS):
        if name.endswith(".py"):
            with open(os.path.join(MODULE_UTILS, name)) as fh:
                source = fh.read()
            engine.update(
                re.findall(r"\b(?:client|acting_as|warm|_client|create_client)\([^)]*?\"([a-z0-9-]+)\"", source)
            )
    assert {"sts", "ec2"} <= engine, engine
    assert engine <= set(botocore_data.CLIENT_SERVICES), engine - set(botocore_data.CLIENT_SERVICES)


def test_botocore_asks_the_loader_for_what_it_answers(loader, monkeypatch):
    # guards the public data_loader component: if botocore stopped asking the session's loader,
    # clients would quietly parse endpoints.json and list its directories again; this says so
    factory = _factory(loader.search_paths[0])
    used = factory.session.get_component("data_loader")
    asked = []
    listing, loading = used.list_available_services, used.load_data_with_path
    monkeypatch.setattr(used, "list_available_services", lambda t: asked.append(("list", t)) or listing(t))
    monkeypatch.setattr(used, "load_data_with_path", lambda n: asked.append(("load", n)) or loading(n))
    factory.client("sts", "us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    assert ("load", "endpoints") in asked and ("list", "service-2") in asked, asked


@pytest.mark.parametrize("case", ["aws-models", "botocore-customer-path", "other-botocore"])
def test_botocores_own_loader_when_the_lists_could_differ(root, no_aws_settings, monkeypatch, tmp_path, case):
    directory = botocore_data.data_cache(root)
    if case == "aws-models":
        os.makedirs(os.path.expanduser("~/.aws/models/mycorp-service"))  # its services join botocore's lists
    elif case == "botocore-customer-path":
        os.makedirs(tmp_path / "customer" / "mycorp-service")
        monkeypatch.setattr(botocore.loaders.Loader, "CUSTOMER_DATA_PATH", str(tmp_path / "customer"))
    else:
        monkeypatch.setattr(botocore_data, "_botocore_data_dir", lambda: str(tmp_path / "elsewhere"))
    assert botocore_data.data_loader(directory) is None
    factory = _factory(directory)
    assert type(factory.session.get_component("data_loader")).__name__ == "Loader"
    sts = factory.client("sts", "us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
    assert sts.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"


@pytest.mark.parametrize("damage", ["no-services", "cut-endpoints", "endpoints-not-a-list"])
def test_a_damaged_loader_file_is_written_again(root, no_aws_settings, damage):
    directory = botocore_data.data_cache(root)
    facts_path, endpoints_path = (
        os.path.join(directory, "facts.json"),
        os.path.join(directory, "endpoints-trimmed.json"),
    )
    if damage == "no-services":
        with open(facts_path) as fh:
            facts = json.load(fh)
        del facts["services"]
        with open(facts_path, "w") as fh:
            json.dump(facts, fh)
    else:
        with open(endpoints_path, "w") as fh:
            fh.write('{"partitions": [' if damage == "cut-endpoints" else '{"partitions": {}}')
    assert botocore_data.data_loader(directory) is None  # never used damaged
    botocore_data._data_caches.clear()
    assert botocore_data.data_cache(root) == directory
    assert botocore_data.data_loader(directory) is not None  # and written again
