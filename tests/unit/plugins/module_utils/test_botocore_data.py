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
def root(tmp_path, monkeypatch):
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
