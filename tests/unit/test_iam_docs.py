"""docs/iam.md and docs/iam/*: the IAM policies are least privilege and true to the code.

* The CloudFormation template parses as plain YAML (Fn:: forms, no short tags), has the documented
  parameters, grants exactly the EC2 actions the engine calls, and trusts only the runner
  principal with an external id.
* The actions in the policies are derived from the code: every AWS operation that
  plugins/module_utils calls is granted, and nothing else.
* The template deploys (CloudFormation in moto, in process) and the trust policy it produces is
  exactly docs/iam/discovery-trust-policy.json.
* Every JSON block in docs/iam.md is one of the policy files, so the page cannot drift from them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import urllib.parse
from pathlib import Path

import botocore.session
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
IAM = ROOT / "docs" / "iam"
TEMPLATE = IAM / "discovery-role.yml"
MODULE_UTILS = ROOT / "plugins" / "module_utils"

DISCOVERY_ACTIONS = {"ec2:DescribeInstances", "ec2:DescribeRegions", "ssm:DescribeInstanceInformation"}
# What amazon.aws.aws_ssm calls with the session role's credentials -> the IAM action it needs.
# A call of aws_ssm that is not in this table fails test_session_policy_covers_what_aws_ssm_calls.
AWS_SSM_CALLS = {
    "start_session": "ssm:StartSession",
    "terminate_session": "ssm:TerminateSession",
    "head_bucket": "s3:ListBucket",
    "get_object": "s3:GetObject",  # presigned GET for curl, and download_fileobj
    "download_fileobj": "s3:GetObject",
    "put_object": "s3:PutObject",  # presigned PUT for curl
    "upload_fileobj": "s3:PutObject",
    "delete_object": "s3:DeleteObject",
}
AMAZON_AWS = ROOT / ".tmp" / "collections" / "ansible_collections" / "amazon" / "aws"
ORG_ACTIONS = {
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
}


def _actions(statement) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _operations_called(service: str) -> set[str]:
    """``service:Operation`` for every operation of ``service`` the engine names, either as a
    client method (describe_instances) or as an operation name ("ListAccounts")."""
    model = botocore.session.get_session().get_service_model(service)
    by_method = {botocore.xform_name(op): op for op in model.operation_names}
    prefix = model.signing_name if service != "organizations" else "organizations"
    found = set()
    for path in MODULE_UTILS.glob("*.py"):
        text = path.read_text()
        for word in set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)) & set(by_method):
            # "describe_instances" may be a method or a paginator name: both are calls
            if re.search(rf"(\.{word}\(|[\"']{word}[\"'])", text):
                found.add(by_method[word])
        found.update(set(re.findall(r"[\"']([A-Z][A-Za-z]+)[\"']", text)) & set(model.operation_names))
    return {f"{prefix}:{op}" for op in found}


@pytest.fixture(scope="module")
def template():
    return yaml.safe_load(TEMPLATE.read_text())


def test_template_is_plain_yaml_cloudformation(template):
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    text = re.sub(r"#.*", "", TEMPLATE.read_text()).replace("${!", "${")  # ${!x} is Fn::Sub for a literal ${x}
    assert "!" not in text, "short tags (!Ref) need a special loader"
    params = template["Parameters"]
    assert set(params) == {
        "RunnerPrincipalArn",
        "ExternalId",
        "RoleName",
        "MaxSessionDuration",
        "SessionRoleName",
        "TransferBucketName",
    }
    assert params["SessionRoleName"]["Default"] == "AnsibleSessionManager"
    assert params["TransferBucketName"]["Default"] == "", "no session role unless a bucket is named"
    assert params["RoleName"]["Default"] == "CMDBDiscovery"
    assert params["ExternalId"]["NoEcho"] is True and params["ExternalId"]["MinLength"] == 2
    assert re.match(params["RunnerPrincipalArn"]["AllowedPattern"], "arn:aws:iam::111111111111:role/CMDBRunner")
    assert not re.match(params["RunnerPrincipalArn"]["AllowedPattern"], "*")
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::IAM::Role", "AWS::IAM::Role"]
    assert template["Resources"]["SessionRole"]["Condition"] == "CreateSessionRole"


def test_discovery_role_grants_exactly_the_describe_calls(template):
    role = template["Resources"]["DiscoveryRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "RoleName"}
    assert "ManagedPolicyArns" not in role, "no managed policy: they grant more than two Describe calls"
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert all(s["Effect"] == "Allow" for s in statements)
    granted = set().union(*(_actions(s) for s in statements))
    assert granted == DISCOVERY_ACTIONS
    assert not any("*" in a for a in granted)
    (inline,) = role["Policies"]
    assert inline["PolicyDocument"] == json.loads((IAM / "discovery-policy.json").read_text())


def test_discovery_role_trusts_only_the_runner_with_an_external_id(template):
    (statement,) = template["Resources"]["DiscoveryRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] != "*" and "Fn::Sub" in statement["Principal"]["AWS"]
    condition = statement["Condition"]
    assert condition["StringEquals"]["sts:ExternalId"] == {"Ref": "ExternalId"}
    assert condition["ArnLike"]["aws:PrincipalArn"] == {"Ref": "RunnerPrincipalArn"}


def test_policies_match_what_the_code_calls():
    assert _operations_called("ec2") | _operations_called("ssm") == DISCOVERY_ACTIONS
    assert _operations_called("organizations") == ORG_ACTIONS
    org = json.loads((IAM / "org-lister-policy.json").read_text())
    assert set().union(*(_actions(s) for s in org["Statement"])) == ORG_ACTIONS
    runner = json.loads((IAM / "runner-policy.json").read_text())
    for statement in runner["Statement"]:
        assert statement["Effect"] == "Allow"
        assert _actions(statement) == {"sts:AssumeRole"}
        assert re.match(r"^arn:aws:iam::(\*|\d{12}):role/\w+$", statement["Resource"]), "roles only, never *"
    assert "arn:aws:iam::*:role/AnsibleSessionManager" in {s["Resource"] for s in runner["Statement"]}


def test_template_deploys_and_produces_the_documented_trust_policy(monkeypatch):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    import boto3
    from moto import mock_aws

    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="discovery",
            TemplateBody=TEMPLATE.read_text(),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[
                {"ParameterKey": "RunnerPrincipalArn", "ParameterValue": "arn:aws:iam::111111111111:role/CMDBRunner"},
                {"ParameterKey": "ExternalId", "ParameterValue": "example-external-id"},
                {"ParameterKey": "TransferBucketName", "ParameterValue": "example-ansible-ssm"},
            ],
        )
        stack = cloudformation.describe_stacks(StackName="discovery")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.get_role(RoleName="CMDBDiscovery")["Role"]
        policy = iam.get_role_policy(RoleName="CMDBDiscovery", PolicyName="ec2-inventory-read")["PolicyDocument"]
        session_role = iam.get_role(RoleName="AnsibleSessionManager")["Role"]
        session_policy = iam.get_role_policy(RoleName="AnsibleSessionManager", PolicyName="ssm-sessions")[
            "PolicyDocument"
        ]
    if isinstance(session_policy, str):
        session_policy = ast.literal_eval(urllib.parse.unquote(session_policy))
    assert session_policy == json.loads((IAM / "session-policy.json").read_text())
    assert session_role["AssumeRolePolicyDocument"] == json.loads((IAM / "session-trust-policy.json").read_text())
    assert role["AssumeRolePolicyDocument"] == json.loads((IAM / "discovery-trust-policy.json").read_text())
    assert role["MaxSessionDuration"] == 3600
    if isinstance(policy, str):  # moto keeps a CloudFormation-made inline policy as the repr of a dict
        policy = ast.literal_eval(urllib.parse.unquote(policy))
    assert policy == json.loads((IAM / "discovery-policy.json").read_text())
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["RoleArn"].endswith(":role/CMDBDiscovery")
    assert outputs["SessionRoleArn"].endswith(":role/AnsibleSessionManager")


def _session_statements() -> list[dict]:
    return json.loads((IAM / "session-policy.json").read_text())["Statement"]


def test_session_policy_covers_what_aws_ssm_calls():
    """Every AWS call amazon.aws.aws_ssm makes is in AWS_SSM_CALLS, and the session policy grants
    exactly those actions (plus GetBucketLocation, ResumeSession and ssmmessages:OpenDataChannel, which AWS
    documents for it)."""
    if not AMAZON_AWS.is_dir():
        pytest.skip("amazon.aws is placed by make collection-link")
    sources = [
        AMAZON_AWS / "plugins" / "connection" / "aws_ssm.py",
        *(AMAZON_AWS / "plugins/plugin_utils/ssm").glob("*.py"),
    ]
    called = set()
    for path in sources:
        text = path.read_text()
        called |= set(re.findall(r"(?:client|_client|s3_client)\.([a-z_]+)\(", text))
        called |= set(re.findall(r"get_url\(\s*\"([a-z_]+)\"", text))
        called |= {m for m in re.findall(r"\"(get_object|put_object)\"", text)}
    called -= {"meta", "generate_presigned_url", "get_paginator"}
    assert called, "the scan of aws_ssm found no AWS call: the pattern is out of date"
    assert called <= set(AWS_SSM_CALLS), (
        f"aws_ssm calls something the session policy does not cover: {called - set(AWS_SSM_CALLS)}"
    )
    granted = set().union(*(_actions(s) for s in _session_statements()))
    documented = {"s3:GetBucketLocation", "ssm:ResumeSession", "ssmmessages:OpenDataChannel"}
    assert granted == set(AWS_SSM_CALLS.values()) | documented
    assert not any("*" in a for a in granted)


def test_session_role_is_scoped_to_one_bucket_and_its_own_sessions():
    for statement in _session_statements():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources
        if any(a.startswith("s3:") for a in _actions(statement)):
            assert all(r.startswith("arn:aws:s3:::example-ansible-ssm") for r in resources)
        if _actions(statement) & {"ssm:TerminateSession", "ssm:ResumeSession", "ssmmessages:OpenDataChannel"}:
            assert resources == ["arn:aws:ssm:*:*:session/${aws:userid}-*"]
    bucket = json.loads((IAM / "transfer-bucket-policy.json").read_text())
    allows = [s for s in bucket["Statement"] if s["Effect"] == "Allow"]
    assert allows and all(s["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-exampleorgid" for s in allows)
    denies = {s["Sid"] for s in bucket["Statement"] if s["Effect"] == "Deny"}
    assert denies == {"NoOneOutsideTheOrganization", "TlsOnly"}


def test_every_policy_in_the_page_is_a_policy_file():
    page = (ROOT / "docs" / "iam.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", page, flags=re.S)]
    files = {p.name: json.loads(p.read_text()) for p in IAM.glob("*.json")}
    assert len(files) >= 7 and len(blocks) == len(files)
    for block in blocks:
        assert block in files.values(), f"a JSON block in docs/iam.md differs from docs/iam/*.json: {block}"
    for name in ["discovery-role.yml", *files]:
        assert f"docs/iam/{name}" in page, f"docs/iam.md should point to docs/iam/{name}"
