"""AWS Secrets Manager (aws.secrets_manager) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

DATABASE = {"user": "billing", "password": "hunter2-very-secret"}


def secrets(
    aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, host: LocalHost | None = None, **settings: Any
) -> RunResult:
    host = host or host_for(aws.credential)
    return run_node("aws.secrets_manager", parameters, items, credential_type="aws", host=host, **settings)


def test_create_stores_objects_as_json_with_description_and_tags(aws: Aws) -> None:
    parameters = {
        "operation": "create",
        "name": "prod/{{ $json.app }}/database",
        "value": {"user": "{{ $json.app }}", "password": "{{ $json.password }}"},
        "description": "Database login of {{ $json.app }}",
        "tags": [{"key": "team", "value": "payments"}],
    }

    (created,) = outputs(secrets(aws, parameters, [{"app": "billing", "password": DATABASE["password"]}]))

    assert created["name"] == "prod/billing/database" and created["arn"].startswith("arn:aws:secretsmanager:")
    stored = aws.client("secretsmanager").get_secret_value(SecretId="prod/billing/database")
    assert json.loads(stored["SecretString"]) == DATABASE and stored["VersionId"] == created["version_id"]
    described = aws.client("secretsmanager").describe_secret(SecretId="prod/billing/database")
    assert described["Description"] == "Database login of billing"
    assert described["Tags"] == [{"Key": "team", "Value": "payments"}]


def test_get_parses_json_objects_and_keeps_other_text(aws: Aws) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="db", SecretString=json.dumps(DATABASE))
    client.create_secret(Name="pin", SecretString="012345")
    client.create_secret(Name="number", SecretString="123456")

    (parsed,) = outputs(secrets(aws, {"secret_id": "{{ $json.name }}"}, [{"name": "db"}]))
    (text,) = outputs(secrets(aws, {"secret_id": "db", "parse_json": False}))
    pins = outputs(secrets(aws, {"secret_id": "{{ $json.name }}"}, [{"name": "pin"}, {"name": "number"}]))

    assert parsed["value"] == DATABASE and parsed["name"] == "db"
    assert parsed["version_stages"] == ["AWSCURRENT"] and isinstance(parsed["created_date"], str)
    assert text["value"] == json.dumps(DATABASE)
    assert [entry["value"] for entry in pins] == ["012345", "123456"]


def test_update_makes_a_new_version_and_the_previous_stays_readable(aws: Aws) -> None:
    aws.client("secretsmanager").create_secret(Name="api-key", SecretString="old-key", Description="First")

    (updated,) = outputs(secrets(aws, {"operation": "update", "secret_id": "api-key", "value": "new-key"}))
    (described,) = outputs(secrets(aws, {"operation": "update", "secret_id": "api-key", "description": "Rotated"}))
    (current,) = outputs(secrets(aws, {"secret_id": "api-key"}))
    (previous,) = outputs(secrets(aws, {"secret_id": "api-key", "version_stage": "AWSPREVIOUS"}))
    (by_id,) = outputs(secrets(aws, {"secret_id": "api-key", "version_id": previous["version_id"]}))

    assert updated["name"] == "api-key" and current["version_id"] == updated["version_id"]
    assert described["name"] == "api-key"
    assert (current["value"], previous["value"], by_id["value"]) == ("new-key", "old-key", "old-key")
    assert aws.client("secretsmanager").describe_secret(SecretId="api-key")["Description"] == "Rotated"


def test_a_binary_secret_goes_into_a_binary_property(aws: Aws) -> None:
    aws.client("secretsmanager").create_secret(Name="certs/client.p12", SecretBinary=b"\x30\x82\x00\xff")
    host = host_for(aws.credential)

    result = secrets(aws, {"secret_id": "certs/client.p12", "binary_property": "certificate"}, host=host)

    (read,) = outputs(result)
    assert read["binary_property"] == "certificate" and "value" not in read
    file = result.last_outputs[NODE][0][0].binary["certificate"]
    assert host.read_binary(file) == b"\x30\x82\x00\xff" and file["file_name"] == "client.p12"


def test_list_filters_by_name_follows_pages_and_stops_at_the_limit(aws: Aws) -> None:
    client = aws.client("secretsmanager")
    for number in range(103):
        client.create_secret(Name=f"prod/app-{number:03}", SecretString="x", Tags=[{"Key": "n", "Value": str(number)}])
    client.create_secret(Name="dev/app", SecretString="x")

    everything = outputs(secrets(aws, {"operation": "list", "name_prefix": "prod/", "return_all": True}))
    limited = outputs(secrets(aws, {"operation": "list", "limit": 3}))

    assert sorted(entry["name"] for entry in everything) == [f"prod/app-{number:03}" for number in range(103)]
    assert "value" not in everything[0] and everything[0]["tags"]["n"].isdigit()
    assert len(limited) == 3


def test_delete_with_a_recovery_window_or_at_once(aws: Aws) -> None:
    client = aws.client("secretsmanager")
    client.create_secret(Name="kept", SecretString="x")
    client.create_secret(Name="gone", SecretString="x")

    (scheduled,) = outputs(secrets(aws, {"operation": "delete", "secret_id": "kept", "recovery_window_days": 7}))
    (forced,) = outputs(secrets(aws, {"operation": "delete", "secret_id": "gone", "force_delete": True}))
    listed = outputs(secrets(aws, {"operation": "list", "return_all": True}))
    planned = outputs(secrets(aws, {"operation": "list", "return_all": True, "include_planned_deletion": True}))
    reading = failure(secrets(aws, {"secret_id": "kept"}))

    assert scheduled["deleted"] is True and scheduled["recoverable"] is True and scheduled["deletion_date"]
    assert forced["name"] == "gone" and forced["recoverable"] is False
    assert listed == [] and [entry["name"] for entry in planned] == ["kept"]
    assert planned[0]["deleted_date"]
    assert reading["message"].startswith(
        "item 0: AWS refused reading the value of secret 'kept': InvalidRequestException"
    )
    assert "must be restored" in reading["description"]


def test_a_missing_secret_names_the_item_and_the_region(aws: Aws) -> None:
    aws.client("secretsmanager").create_secret(Name="here", SecretString="x")

    error = failure(secrets(aws, {"secret_id": "{{ $json.name }}"}, [{"name": "here"}, {"name": "nowhere"}]))

    assert error["message"].startswith("item 1: AWS refused reading the value of secret 'nowhere': ResourceNotFound")
    assert error["item_index"] == 1 and "credential's region" in error["description"]


def test_an_existing_name_is_refused_without_showing_the_value(aws: Aws) -> None:
    aws.client("secretsmanager").create_secret(Name="db", SecretString="x")

    error = failure(secrets(aws, {"operation": "create", "name": "db", "value": DATABASE}))

    assert error["message"].startswith("item 0: AWS refused creating secret 'db': ResourceExistsException")
    assert "choose another name" in error["description"]
    assert DATABASE["password"] not in json.dumps(error)


def test_continue_on_fail_turns_the_error_into_an_item(aws: Aws) -> None:
    (entry,) = outputs(secrets(aws, {"operation": "delete", "secret_id": "missing"}, on_error="continue"))

    assert entry["error"].startswith("item 0: AWS refused deleting secret 'missing': ResourceNotFoundException")


def test_parameters_are_checked_before_calling_aws(aws: Aws) -> None:
    no_id = failure(secrets(aws, {"operation": "get"}))
    no_value = failure(secrets(aws, {"operation": "create", "name": "x"}))
    no_change = failure(secrets(aws, {"operation": "update", "secret_id": "x"}))
    short_window = failure(secrets(aws, {"operation": "delete", "secret_id": "x", "recovery_window_days": 3}))

    assert "get needs the secret's name or ARN" in no_id["message"]
    assert "create needs a value" in no_value["message"]
    assert "update needs a new value or description" in no_change["message"]
    assert "recovery_window_days" in short_window["message"]
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []
