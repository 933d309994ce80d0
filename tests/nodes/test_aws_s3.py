"""AWS S3 (aws.s3) and the AWS credential, through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from nodes.aws.credentials import AwsCredential
from nodes.sdk import Item, NodeError
from tests.nodes.conftest import AWS_SECRET, Aws
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

REPORT = b"%PDF-1.4 monthly report \x00\x01\xff"


def s3(
    aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, host: LocalHost | None = None
) -> RunResult:
    return run_node("aws.s3", parameters, items, credential_type="aws", host=host or host_for(aws.credential))


def test_create_a_bucket_then_list_buckets(aws: Aws) -> None:
    (created,) = outputs(s3(aws, {"operation": "create_bucket", "bucket": "acme-{{ $json.team }}"}, [{"team": "ops"}]))
    listed = outputs(s3(aws, {"operation": "list_buckets"}))

    assert created["bucket"] == "acme-ops" and created["region"] == "eu-west-1"
    assert [bucket["name"] for bucket in listed] == ["acme-ops"]
    assert isinstance(listed[0]["created"], str)
    location = aws.client("s3").get_bucket_location(Bucket="acme-ops")["LocationConstraint"]
    assert location == "eu-west-1"


def test_upload_a_file_of_the_item_then_download_it_into_another(aws: Aws) -> None:
    aws.client("s3").create_bucket(Bucket="docs", CreateBucketConfiguration={"LocationConstraint": aws.region})
    host = host_for(aws.credential)
    reference = host.store_binary(REPORT, file_name="may.pdf", mime_type="application/pdf")

    (uploaded,) = outputs(
        s3(
            aws,
            {"bucket": "docs", "key": "reports/{{ $json.month }}.pdf"},
            [Item({"month": "may"}, binary={"data": reference})],
            host,
        )
    )
    download = s3(aws, {"operation": "download", "bucket": "docs", "key": "reports/may.pdf"}, [{"id": 1}], host)

    assert uploaded["key"] == "reports/may.pdf" and uploaded["size"] == len(REPORT)
    assert uploaded["content_type"] == "application/pdf"
    stored = aws.client("s3").get_object(Bucket="docs", Key="reports/may.pdf")
    assert stored["Body"].read() == REPORT and stored["ContentType"] == "application/pdf"
    (downloaded,) = outputs(download)
    assert downloaded["id"] == 1 and downloaded["s3"]["etag"] == uploaded["etag"]
    file = download.last_outputs[NODE][0][0].binary["data"]
    assert file["file_name"] == "may.pdf" and file["mime_type"] == "application/pdf"
    assert host.read_binary(file) == REPORT


def test_list_objects_under_a_prefix_across_pages_and_delete_one(aws: Aws) -> None:
    client = aws.client("s3")
    client.create_bucket(Bucket="logs", CreateBucketConfiguration={"LocationConstraint": aws.region})
    for day in range(1, 6):
        client.put_object(Bucket="logs", Key=f"2024/05/{day:02}.log", Body=b"x" * day)
    client.put_object(Bucket="logs", Key="2023/12/31.log", Body=b"old")

    may = outputs(s3(aws, {"operation": "list_objects", "bucket": "logs", "prefix": "2024/05/"}))
    capped = outputs(s3(aws, {"operation": "list_objects", "bucket": "logs", "max_keys": 2}))
    (deleted,) = outputs(s3(aws, {"operation": "delete_object", "bucket": "logs", "key": "2024/05/01.log"}))

    assert [entry["key"] for entry in may] == [f"2024/05/{day:02}.log" for day in range(1, 6)]
    assert [entry["size"] for entry in may] == [1, 2, 3, 4, 5]
    assert len(capped) == 2
    assert deleted == {"bucket": "logs", "key": "2024/05/01.log", "deleted": True}
    remaining = [entry["Key"] for entry in client.list_objects_v2(Bucket="logs", Prefix="2024/05/")["Contents"]]
    assert "2024/05/01.log" not in remaining


def test_a_presigned_url_downloads_the_object_without_credentials(aws: Aws) -> None:
    client = aws.client("s3")
    client.create_bucket(Bucket="share", CreateBucketConfiguration={"LocationConstraint": aws.region})
    client.put_object(Bucket="share", Key="hello.txt", Body=b"hello")

    (link,) = outputs(s3(aws, {"operation": "presigned_url", "bucket": "share", "key": "hello.txt", "expires_in": 60}))

    assert link["url"].startswith(f"{aws.endpoint}/share/hello.txt?")
    assert "X-Amz-Signature=" in link["url"] and AWS_SECRET not in link["url"]
    assert httpx.get(link["url"]).content == b"hello"


def test_a_missing_bucket_fails_with_the_code_and_the_item(aws: Aws) -> None:
    error = failure(s3(aws, {"operation": "download", "bucket": "nope", "key": "a.txt"}, [{}, {}]))

    assert error["message"].startswith("item 0: AWS refused downloading s3://nope/a.txt: NoSuchBucket")
    assert "Check the name" in error["description"]
    assert error["item_index"] == 0
    assert AWS_SECRET not in json.dumps(error)


def test_upload_without_the_file_names_the_items_properties(aws: Aws) -> None:
    error = failure(s3(aws, {"bucket": "docs"}, [{"a": 1}]))

    assert error["message"] == "item 0 has no binary property 'data' (its binary properties: none)"


def test_the_credential_test_asks_sts_who_the_key_is(aws: Aws) -> None:
    assert AwsCredential.test_connection(aws.credential).startswith("Connected as arn:aws:")

    unreachable = {**aws.credential, "endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(NodeError, match=r"cannot reach http://127\.0\.0\.1:9"):
        AwsCredential.test_connection(unreachable)
    with pytest.raises(NodeError, match="region: Value error, a region looks like us-east-1"):
        AwsCredential.test_connection({**aws.credential, "region": "Europe"})
