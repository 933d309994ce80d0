"""AWS Parameter Store (aws.ssm_parameter) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node

PASSWORD = "hunter2-very-secret"


def ssm(aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    return run_node(
        "aws.ssm_parameter", parameters, items, credential_type="aws", host=host_for(aws.credential), **settings
    )


def test_put_creates_each_type_with_description_tags_and_kms_key(aws: Aws) -> None:
    put = {"operation": "put", "name": "/billing/{{ $json.key }}", "value": "{{ $json.value }}"}

    (plain,) = outputs(
        ssm(
            aws,
            {**put, "description": "Where the database lives", "tags": [{"key": "team", "value": "payments"}]},
            [{"key": "host", "value": "db.internal"}],
        )
    )
    (secure,) = outputs(
        ssm(
            aws,
            {**put, "parameter_type": "SecureString", "kms_key_id": "alias/billing"},
            [{"key": "pw", "value": PASSWORD}],
        )
    )
    (listed,) = outputs(ssm(aws, {**put, "parameter_type": "StringList", "value": ["a", "b"]}, [{"key": "zones"}]))

    client = aws.client("ssm")
    assert plain == {"name": "/billing/host", "type": "String", "version": 1, "tier": "Standard"}
    assert secure["type"] == "SecureString" and listed["version"] == 1
    assert client.get_parameter(Name="/billing/pw", WithDecryption=True)["Parameter"]["Value"] == PASSWORD
    # moto marks an undecrypted SecureString with the key that encrypted it.
    assert "alias/billing" in client.get_parameter(Name="/billing/pw")["Parameter"]["Value"]
    assert client.get_parameter(Name="/billing/zones")["Parameter"]["Value"] == "a,b"
    tags = client.list_tags_for_resource(ResourceType="Parameter", ResourceId="/billing/host")["TagList"]
    assert tags == [{"Key": "team", "Value": "payments"}]
    described = client.describe_parameters()["Parameters"]
    assert {entry["Name"]: entry.get("Description") for entry in described}[
        "/billing/host"
    ] == "Where the database lives"


def test_put_again_needs_overwrite_and_then_makes_a_new_version(aws: Aws) -> None:
    aws.client("ssm").put_parameter(Name="/app/mode", Value="blue", Type="String")

    refused = failure(ssm(aws, {"operation": "put", "name": "/app/mode", "value": "green"}))
    (updated,) = outputs(ssm(aws, {"operation": "put", "name": "/app/mode", "value": "green", "overwrite": True}))

    assert refused["message"].startswith("item 0: AWS refused writing parameter '/app/mode': ParameterAlreadyExists")
    assert "turn on 'Overwrite'" in refused["description"]
    assert updated["version"] == 2
    assert aws.client("ssm").get_parameter(Name="/app/mode")["Parameter"]["Value"] == "green"


def test_get_decrypts_and_selects_versions_and_labels(aws: Aws) -> None:
    client = aws.client("ssm")
    client.put_parameter(Name="/app/pw", Value=PASSWORD, Type="SecureString")
    client.put_parameter(Name="/app/url", Value="https://v1", Type="String")
    client.put_parameter(Name="/app/url", Value="https://v2", Type="String", Overwrite=True)
    client.label_parameter_version(Name="/app/url", ParameterVersion=1, Labels=["stable"])
    client.put_parameter(Name="/app/zones", Value="a,b,c", Type="StringList")

    (secret,) = outputs(ssm(aws, {"name": "{{ $json.name }}"}, [{"name": "/app/pw"}]))
    (encrypted,) = outputs(ssm(aws, {"name": "/app/pw", "with_decryption": False}))
    (latest,) = outputs(ssm(aws, {"name": "/app/url"}))
    (first,) = outputs(ssm(aws, {"name": "/app/url", "selector": "version", "version": 1}))
    (labelled,) = outputs(ssm(aws, {"name": "/app/url", "selector": "label", "label": "stable"}))
    (zones,) = outputs(ssm(aws, {"name": "/app/zones"}))

    assert secret["value"] == PASSWORD and secret["type"] == "SecureString" and secret["arn"].startswith("arn:aws:ssm:")
    assert encrypted["value"] != PASSWORD
    assert (latest["value"], latest["version"]) == ("https://v2", 2)
    assert first["value"] == labelled["value"] == "https://v1" and labelled["version"] == 1
    assert zones["values"] == ["a", "b", "c"] and isinstance(zones["last_modified_date"], str)


def test_get_by_path_follows_pages_recursively_and_stops_at_the_limit(aws: Aws) -> None:
    client = aws.client("ssm")
    for number in range(23):
        client.put_parameter(Name=f"/prod/app/key-{number:02}", Value=str(number), Type="String")
    client.put_parameter(Name="/prod/top", Value="top", Type="String")
    client.put_parameter(Name="/dev/other", Value="x", Type="String")

    everything = outputs(ssm(aws, {"operation": "get_by_path", "path": "/prod", "return_all": True}))
    shallow = outputs(ssm(aws, {"operation": "get_by_path", "path": "/prod", "recursive": False, "return_all": True}))
    limited = outputs(ssm(aws, {"operation": "get_by_path", "path": "/prod", "limit": 12}))

    assert sorted(entry["name"] for entry in everything) == sorted(
        [f"/prod/app/key-{number:02}" for number in range(23)] + ["/prod/top"]
    )
    assert [entry["name"] for entry in shallow] == ["/prod/top"]
    assert len(limited) == 12


def test_history_lists_versions_with_labels(aws: Aws) -> None:
    client = aws.client("ssm")
    for number in range(3):
        client.put_parameter(Name="/app/flag", Value=f"v{number}", Type="String", Overwrite=number > 0)
    client.label_parameter_version(Name="/app/flag", ParameterVersion=2, Labels=["canary"])

    history = outputs(ssm(aws, {"operation": "get_history", "name": "/app/flag", "return_all": True}))
    first = outputs(ssm(aws, {"operation": "get_history", "name": "/app/flag", "limit": 1}))

    assert [(entry["version"], entry["value"]) for entry in history] == [(1, "v0"), (2, "v1"), (3, "v2")]
    assert history[1]["labels"] == ["canary"] and first == history[:1]


def test_delete_then_a_missing_parameter_names_the_item(aws: Aws) -> None:
    aws.client("ssm").put_parameter(Name="/app/old", Value="x", Type="String")

    (deleted,) = outputs(ssm(aws, {"operation": "delete", "name": "/app/old"}))
    error = failure(ssm(aws, {"name": "{{ $json.name }}"}, [{"name": "/app/old"}]))
    missing_version = failure(ssm(aws, {"name": "/app/none", "selector": "version", "version": 4}))

    assert deleted == {"name": "/app/old", "deleted": True}
    assert error["message"].startswith("item 0: AWS refused reading parameter '/app/old': ParameterNotFound")
    assert error["item_index"] == 0 and "credential's region" in error["description"]
    assert "ParameterNotFound" in missing_version["message"]


def test_a_missing_version_gets_its_own_advice(aws: Aws) -> None:
    aws.client("ssm").put_parameter(Name="/app/v", Value="x", Type="String")

    error = failure(ssm(aws, {"name": "/app/v", "selector": "version", "version": 9}))

    assert "ParameterVersionNotFound" in error["message"] and "get_history" in error["description"]


def test_an_unreachable_endpoint_is_reported_without_the_secret(aws: Aws) -> None:
    broken = {**aws.credential, "endpoint_url": "http://127.0.0.1:9"}

    result = run_node("aws.ssm_parameter", {"name": "/x"}, None, credential_type="aws", host=host_for(broken))

    error = failure(result)
    assert error["message"].startswith("item 0: cannot reach") and "endpoint URL" in error["description"]
    assert aws.credential["secret_access_key"] not in json.dumps(error)


def test_continue_on_fail_and_parameter_checks(aws: Aws) -> None:
    (entry,) = outputs(ssm(aws, {"operation": "delete", "name": "/missing"}, on_error="continue"))
    no_name = failure(ssm(aws, {"operation": "get"}))
    tags_and_overwrite = failure(
        ssm(aws, {"operation": "put", "name": "/a", "value": "x", "overwrite": True, "tags": [{"key": "k"}]})
    )
    comma = failure(ssm(aws, {"operation": "put", "name": "/a", "value": ["a,b", "c"], "parameter_type": "StringList"}))

    assert entry["error"].startswith("item 0: AWS refused deleting parameter '/missing': ParameterNotFound")
    assert "get needs the parameter's name" in no_name["message"]
    assert "tags only go with a new parameter" in tags_and_overwrite["message"]
    assert comma["message"] == "item 0: a StringList entry contains a comma, which separates its entries"
    assert aws.client("ssm").describe_parameters()["Parameters"] == []
