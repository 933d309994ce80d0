"""AWS S3: buckets and objects (upload a file of the item, download one into it, list, delete, presign)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import model_validator

from nodes.aws._convert import json_safe
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.files._common import guess_mime_type, read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal[
    "list_buckets", "create_bucket", "upload", "download", "list_objects", "delete_object", "presigned_url"
]
WITH_BUCKET = ("create_bucket", "upload", "download", "list_objects", "delete_object", "presigned_url")
WITH_KEY = ("upload", "download", "delete_object", "presigned_url")
WITH_FILE = ("upload", "download")
MAX_PAGE = 1000


class S3Parameters(Parameters):
    operation: Operation = param(
        "upload",
        title="Operation",
        description="upload a file of the item; download an object into the item; list_objects under a prefix; "
        "delete_object; presigned_url: a temporary link; list_buckets; create_bucket.",
        no_expressions=True,
    )
    bucket: str = param("", title="Bucket", placeholder="acme-invoices", show_if={"operation": WITH_BUCKET})
    key: str = param(
        "",
        title="Key",
        description="The object's path in the bucket; for upload, empty: the file's name.",
        placeholder="invoices/{{ $json.number }}.pdf",
        show_if={"operation": WITH_KEY},
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="upload: the item's file to send; download: where the object goes.",
        show_if={"operation": WITH_FILE},
        min_length=1,
    )
    content_type: str = param(
        "",
        title="Content type",
        description="Empty: the file's own type.",
        show_if={"operation": ["upload"]},
        advanced=True,
    )
    prefix: str = param(
        "", title="Prefix", description="Only keys starting with this.", show_if={"operation": ["list_objects"]}
    )
    max_keys: int = param(
        1000,
        title="At most",
        description="Stop after this many objects.",
        show_if={"operation": ["list_objects"]},
        ge=1,
        le=100_000,
    )
    expires_in: int = param(
        3600,
        title="Valid for (seconds)",
        description="At most 7 days (604800).",
        show_if={"operation": ["presigned_url"]},
        ge=1,
        le=604_800,
    )
    presign_for: Literal["download", "upload"] = param(
        "download",
        title="Link for",
        description="download: GET the object; upload: PUT a new object at the key.",
        show_if={"operation": ["presigned_url"]},
        no_expressions=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> S3Parameters:
        if self.operation in WITH_BUCKET and not self.bucket.strip():
            raise ValueError(f"{self.operation} needs a bucket")
        if self.operation in ("download", "delete_object", "presigned_url") and not self.key.strip():
            raise ValueError(f"{self.operation} needs a key")
        return self


class S3Node(Node):
    type = "aws.s3"
    display_name = "AWS S3"
    category = Category.INTEGRATION
    description = "Uploads, downloads, lists, deletes or links objects in S3 or an S3-compatible store, per item."
    icon = "cloud-upload"
    Parameters = S3Parameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "s3", timeout)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: S3Parameters = ctx.params(index)
            produced.extend(_S3Item(ctx, client, fields, params, item, index).run())
        return [produced]


class _S3Item:
    """One item's request."""

    def __init__(
        self, ctx: Context, client: Any, fields: AwsFields, params: S3Parameters, item: Item, index: int
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.fields = fields
        self.params = params
        self.item = item
        self.index = index
        self.bucket = params.bucket.strip()
        self.key = params.key.strip().lstrip("/")

    def _call(self, action: str, method: str, **kwargs: Any) -> Any:
        return call(self.fields, action, getattr(self.client, method), item_index=self.index, **kwargs)

    def _out(self, data: dict[str, Any], binary: dict[str, dict[str, Any]] | None = None) -> Item:
        return Item(json_safe(data), binary=self.item.binary if binary is None else binary, paired_item=self.index)

    def run(self) -> list[Item]:
        match self.params.operation:
            case "list_buckets":
                answer = self._call("listing the buckets", "list_buckets")
                return [
                    self._out({"name": bucket["Name"], "created": bucket.get("CreationDate")}, {})
                    for bucket in answer.get("Buckets", [])
                ]
            case "create_bucket":
                return [self._create_bucket()]
            case "upload":
                return [self._upload()]
            case "download":
                return [self._download()]
            case "list_objects":
                return self._list_objects()
            case "delete_object":
                self._call(f"deleting s3://{self.bucket}/{self.key}", "delete_object", Bucket=self.bucket, Key=self.key)
                return [self._out({"bucket": self.bucket, "key": self.key, "deleted": True})]
            case "presigned_url":
                return [self._presigned_url()]
        raise AssertionError(f"unhandled operation {self.params.operation!r}")

    def _create_bucket(self) -> Item:
        options: dict[str, Any] = {}
        if self.fields.region != "us-east-1":
            # Outside us-east-1, S3 wants the region named again (AWS's historic quirk).
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.fields.region}
        answer = self._call(f"creating bucket {self.bucket!r}", "create_bucket", Bucket=self.bucket, **options)
        return self._out({"bucket": self.bucket, "location": answer.get("Location"), "region": self.fields.region})

    def _upload(self) -> Item:
        params = self.params
        data, reference = read_input(self.ctx, self.item, params.binary_property, self.index)
        file_name = str(reference.get("file_name") or params.binary_property)
        key = self.key or PurePosixPath(file_name).name
        content_type = params.content_type.strip() or str(reference.get("mime_type") or guess_mime_type(file_name))
        answer = self._call(
            f"uploading to s3://{self.bucket}/{key}",
            "put_object",
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )
        result = {
            "bucket": self.bucket,
            "key": key,
            "size": len(data),
            "content_type": content_type,
            "etag": str(answer.get("ETag", "")).strip('"'),
        }
        if answer.get("VersionId"):
            result["version_id"] = answer["VersionId"]
        return self._out(result)

    def _download(self) -> Item:
        where = f"s3://{self.bucket}/{self.key}"
        answer = self._call(f"downloading {where}", "get_object", Bucket=self.bucket, Key=self.key)
        data = answer["Body"].read()
        name = PurePosixPath(self.key).name or "object"
        mime_type = str(answer.get("ContentType") or guess_mime_type(name))
        reference = self.ctx.store_binary(data, file_name=name, mime_type=mime_type)
        info = {
            "bucket": self.bucket,
            "key": self.key,
            "size": len(data),
            "content_type": mime_type,
            "etag": str(answer.get("ETag", "")).strip('"'),
            "last_modified": answer.get("LastModified"),
        }
        return self._out({**self.item.json, "s3": info}, {**self.item.binary, self.params.binary_property: reference})

    def _list_objects(self) -> list[Item]:
        found: list[Item] = []
        token: str | None = None
        while len(found) < self.params.max_keys:
            options: dict[str, Any] = {"ContinuationToken": token} if token else {}
            answer = self._call(
                f"listing s3://{self.bucket}/{self.params.prefix}",
                "list_objects_v2",
                Bucket=self.bucket,
                Prefix=self.params.prefix,
                MaxKeys=min(MAX_PAGE, self.params.max_keys - len(found)),
                **options,
            )
            for entry in answer.get("Contents", []):
                data = {
                    "bucket": self.bucket,
                    "key": entry["Key"],
                    "size": entry.get("Size"),
                    "last_modified": entry.get("LastModified"),
                    "etag": str(entry.get("ETag", "")).strip('"'),
                    "storage_class": entry.get("StorageClass"),
                }
                found.append(self._out(data, {}))
            token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
            if not token:
                break
        return found[: self.params.max_keys]

    def _presigned_url(self) -> Item:
        method = "get_object" if self.params.presign_for == "download" else "put_object"
        url = self._call(
            f"signing a link to s3://{self.bucket}/{self.key}",
            "generate_presigned_url",
            ClientMethod=method,
            Params={"Bucket": self.bucket, "Key": self.key},
            ExpiresIn=self.params.expires_in,
        )
        params = self.params
        return self._out(
            {
                "bucket": self.bucket,
                "key": self.key,
                "url": url,
                "expires_in": params.expires_in,
                "for": params.presign_for,
            }
        )
