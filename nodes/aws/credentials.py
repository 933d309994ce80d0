"""The AWS credential (access key, region, optional endpoint), boto3 clients made with it, AWS errors as NodeErrors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ParamValidationError
from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import Context, CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 30.0
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
T = TypeVar("T")
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
    }
)
PERMISSION_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "Forbidden"})
MISSING_CODES = frozenset(
    {
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "404",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "ResourceNotFoundException",
    }
)
BUSY_CODES = frozenset(
    {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "ProvisionedThroughputExceededException"}
)


class AwsFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_key_id: str = param(title="Access key id", placeholder="AKIA...", min_length=1)
    secret_access_key: str = param(title="Secret access key", widget="password", min_length=1)
    session_token: str = param(
        "", title="Session token", description="Only for temporary credentials.", widget="password", advanced=True
    )
    region: str = param("us-east-1", title="Region", placeholder="eu-west-1")
    endpoint_url: str = param(
        "",
        title="Endpoint URL",
        description="For an S3-compatible store (MinIO, Cloudflare R2, Backblaze B2...) or a local AWS stand-in; "
        "empty: AWS itself.",
        advanced=True,
    )

    @field_validator("access_key_id", "secret_access_key", "session_token")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        value = value.strip()
        if any(char.isspace() for char in value):
            raise ValueError("keys have no spaces")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip()
        if not REGION.match(value):
            raise ValueError("a region looks like us-east-1 or eu-west-3")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("the endpoint URL must start with https://")
        return value


class AwsCredential(CredentialType):
    id = "aws"
    display_name = "AWS"
    description = "An AWS access key and region, or the keys of an S3-compatible store and its endpoint."
    Fields = AwsFields
    secret_fields = frozenset({"secret_access_key", "session_token"})

    @classmethod
    def test_connection(cls, fields: AwsFields | Mapping[str, Any]) -> str:
        """Ask STS who the key belongs to; returns ``Connected as <ARN>``.

        Raises:
            NodeError: AWS refuses the key or cannot be reached.
        """
        checked = cls.parse(fields)
        sts = aws_client(checked, "sts", DEFAULT_TIMEOUT_SECONDS)
        identity = call(checked, "checking the key (STS GetCallerIdentity)", sts.get_caller_identity)
        return f"Connected as {identity.get('Arn')}"


def _config(fields: AwsFields, timeout: float) -> Config:
    seconds = max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
    # S3-compatible stores rarely serve bucket-named host names; path style works with all of them.
    addressing = "path" if fields.endpoint_url else "auto"
    return Config(
        connect_timeout=seconds,
        read_timeout=seconds,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": addressing},
        user_agent_extra="hitl-studio",
    )


def aws_client(fields: AwsFields, service: str, timeout: float) -> Any:
    """A boto3 client of ``service`` signed with the credential (never the machine's own AWS settings)."""
    session = boto3.Session(
        aws_access_key_id=fields.access_key_id,
        aws_secret_access_key=fields.secret_access_key,
        aws_session_token=fields.session_token or None,
        region_name=fields.region,
    )
    config = _config(fields, timeout)
    if service == "s3":
        # Signature V4 everywhere: presigned links would otherwise fall back to V2 on custom endpoints.
        config = config.merge(Config(signature_version="s3v4"))
    return session.client(service, endpoint_url=fields.endpoint_url or None, config=config)


def aws_resource(fields: AwsFields, service: str, timeout: float) -> Any:
    """A boto3 resource of ``service`` (DynamoDB tables convert JSON types for us)."""
    session = boto3.Session(
        aws_access_key_id=fields.access_key_id,
        aws_secret_access_key=fields.secret_access_key,
        aws_session_token=fields.session_token or None,
        region_name=fields.region,
    )
    return session.resource(service, endpoint_url=fields.endpoint_url or None, config=_config(fields, timeout))


def credential_for(ctx: Context) -> tuple[AwsFields, float]:
    """The ``aws`` credential selected on the running node, and the seconds its requests may take."""
    fields = AwsCredential.parse(ctx.credential(AwsCredential.id))
    remaining = ctx.remaining_seconds()
    return fields, DEFAULT_TIMEOUT_SECONDS if remaining is None else min(remaining, DEFAULT_TIMEOUT_SECONDS)


def _hint(code: str) -> str:
    if code in CREDENTIAL_CODES:
        return "Check the AWS credential's access key, secret and session token."
    if code in PERMISSION_CODES:
        return "The key's IAM policy does not allow this action on this resource: ask for the permission."
    if code in MISSING_CODES:
        return "Check the name (bucket, key, queue or table) and the credential's region."
    if code in BUSY_CODES:
        return "AWS is throttling requests: slow the workflow down or retry later."
    if code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
        return "Bucket names are global: pick another one."
    if code == "ConditionalCheckFailedException":
        return "The item's condition did not hold (e.g. it exists already)."
    return "See the AWS documentation of this error code."


def call(
    fields: AwsFields, action: str, request: Callable[..., T], *args: Any, item_index: int | None = None, **kwargs: Any
) -> T:
    """Run ``request(*args, **kwargs)`` and turn what AWS or the network refused into a :class:`NodeError`.

    Raises:
        NodeError: With AWS's error code and message and what to do; never the secret key.
    """
    prefix = f"item {item_index}: " if item_index is not None else ""
    try:
        return request(*args, **kwargs)
    except ClientError as err:
        error = err.response.get("Error", {})
        code = str(error.get("Code") or err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "error")
        detail = str(error.get("Message") or "").strip()
        message = f"{prefix}AWS refused {action}: {code}" + (f" ({detail})" if detail else "")
        raise NodeError(_redact(message, fields), description=_hint(code), item_index=item_index) from err
    except ParamValidationError as err:
        raise NodeError(
            f"{prefix}{action}: {' '.join(str(err).split())}",
            description="Fix the node's parameters.",
            item_index=item_index,
        ) from err
    except EndpointConnectionError as err:
        raise NodeError(
            f"{prefix}cannot reach {err.kwargs.get('endpoint_url', 'AWS')} for {action}",
            description="Check the credential's region and endpoint URL, and the network.",
            item_index=item_index,
        ) from err
    except BotoCoreError as err:
        raise NodeError(
            _redact(f"{prefix}{action} failed: {err}", fields),
            description="Check the credential and the network, then retry.",
            item_index=item_index,
        ) from err


def _redact(text: str, fields: AwsFields) -> str:
    for secret in (fields.secret_access_key, fields.session_token):
        if secret:
            text = text.replace(secret, "***")
    return text
