"""The Slack API credential: a workspace's bot token (and the app's signing secret), with a connection test.

The studio's own Slack app for approvals is configured by environment
(``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``: ``hitl_studio.settings.SlackSettings``) and is not a
credential; these credentials are for workflows, which may talk to any number of workspaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from nodes.sdk import Context, CredentialType, NodeError, param

SLACK_API_URL = "https://slack.com/api/"
DEFAULT_TIMEOUT_SECONDS = 30
PAGE_SIZE = 200
"""Slack recommends at most 200 entries per page of a list method."""
HINTS = {
    "not_authed": "Open the Slack credential and enter the bot token.",
    "invalid_auth": "The bot token is wrong or was revoked: copy it again from the app's OAuth & Permissions page.",
    "token_revoked": "The bot token was revoked: reinstall the app and copy the new token.",
    "account_inactive": "The app's bot user was deactivated: reinstall the app.",
    "missing_scope": "Add the scope Slack asked for to the app (OAuth & Permissions), then reinstall it.",
    "channel_not_found": "Check the channel id, and invite the app to a private channel (/invite @app).",
    "not_in_channel": "Invite the app to the channel (/invite @app), or give it the chat:write.public scope.",
    "is_archived": "The channel is archived: unarchive it or pick another.",
    "message_not_found": "Check the channel and the message's ts (the id Send returned).",
    "cant_update_message": "A bot can only change its own messages.",
    "cant_delete_message": "A bot can only delete its own messages.",
    "user_not_found": "Check the user id (U...) or the email address.",
    "users_not_found": "No user of the workspace has that email address.",
    "name_taken": "A channel with this name exists already: pick another name.",
    "invalid_name_specials": "Channel names are lower-case letters, digits, hyphens and underscores.",
    "already_reacted": "The app already added this reaction to the message.",
    "no_reaction": "The app has not added this reaction to the message.",
    "invalid_name": "Use an emoji name without colons, such as thumbsup.",
    "ratelimited": "Slack is limiting requests: retry the node later, or slow the workflow down.",
}


class SlackApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = param(
        title="Bot token",
        description="The app's Bot User OAuth Token (xoxb-...), from OAuth & Permissions in the app's settings.",
        widget="password",
        min_length=1,
    )
    signing_secret: str = param(
        "",
        title="Signing secret",
        description="From Basic Information; only needed to check requests Slack sends to the studio.",
        widget="password",
    )
    api_url: str = param(
        SLACK_API_URL,
        title="API URL",
        description="Slack's Web API; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("xox"):
            raise ValueError("a Slack token starts with xoxb- (bot) or xoxp- (user)")
        return value

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("the API URL must start with https://")
        return value if value.endswith("/") else value + "/"


class SlackApiCredential(CredentialType):
    id = "slack_api"
    display_name = "Slack API"
    description = "A Slack app's bot token for one workspace, and optionally its signing secret."
    Fields = SlackApiFields
    secret_fields = frozenset({"bot_token", "signing_secret"})

    @classmethod
    def test_connection(cls, fields: SlackApiFields | Mapping[str, Any]) -> str:
        """Call ``auth.test``; returns ``Connected to <workspace> as <bot user>``.

        Raises:
            NodeError: Slack refuses the token or cannot be reached.
        """
        checked = cls.parse(fields)
        answer = call(web_client(checked), "auth_test", "checking the token")
        return f"Connected to {answer.get('team') or 'the workspace'} as {answer.get('user') or 'the bot'}"


def web_client(fields: SlackApiFields, timeout: float | None = None) -> WebClient:
    """A Web API client for the credential's workspace.

    Slack's own rate-limit answers (HTTP 429 with Retry-After) are retried once,
    as are dropped connections; everything else fails fast and is left to the
    node's retry settings.
    """
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1, min(int(timeout), DEFAULT_TIMEOUT_SECONDS))
    return WebClient(
        token=fields.bot_token,
        base_url=fields.api_url,
        timeout=seconds,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(max_retry_count=1)],
    )


def client_for(ctx: Context) -> WebClient:
    """The client for the ``slack_api`` credential selected on the running node."""
    fields = SlackApiCredential.parse(ctx.credential(SlackApiCredential.id))
    return web_client(fields, ctx.remaining_seconds())


def error_code(err: SlackClientError | OSError) -> str:
    """Slack's error code (``channel_not_found``...), or what went wrong on the way there."""
    if isinstance(err, SlackApiError):
        data = getattr(err.response, "data", None)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"HTTP {getattr(err.response, 'status_code', '?')}"
    return f"{type(err).__name__}: {err}"


def call(client: WebClient, method: str, action: str, *, item_index: int | None = None, **kwargs: Any) -> SlackResponse:
    """Call ``client.<method>(**kwargs)`` and turn Slack's refusals into a :class:`NodeError`.

    Args:
        client: From :func:`web_client`.
        method: The ``WebClient`` method, e.g. ``chat_postMessage``.
        action: What the call does, for the message: ``sending the message``.
        item_index: The item being processed, named in the error.
        **kwargs: The method's arguments.

    Raises:
        NodeError: With Slack's error code and what to do about it; never the token.
    """
    try:
        return getattr(client, method)(**kwargs)
    except (SlackClientError, OSError) as err:
        code = error_code(err)
        prefix = f"item {item_index}: " if item_index is not None else ""
        detail = code
        if isinstance(err, SlackApiError) and code == "missing_scope":
            needed = (getattr(err.response, "data", None) or {}).get("needed")
            detail = f"missing_scope (needs {needed})" if needed else code
        if isinstance(err, SlackApiError):
            message = f"{prefix}Slack refused {action}: {detail}"
            description = HINTS.get(code, "See Slack's documentation of this error code.")
        else:
            message = f"{prefix}{action} failed: Slack could not be reached ({detail})"
            description = "Check the credential's API URL and the network, then retry."
        if client.token:
            # Slack's answers never echo the token; this guards the client's own exception texts.
            message = message.replace(client.token, "***")
        raise NodeError(message, description=description, item_index=item_index) from err


def paginate(
    client: WebClient,
    method: str,
    key: str,
    action: str,
    *,
    limit: int,
    item_index: int | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Up to ``limit`` entries of list ``key`` across the pages of a cursor-paginated method.

    Raises:
        NodeError: As :func:`call`.
    """
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(entries) < limit:
        page_size = min(PAGE_SIZE, limit - len(entries))
        answer = call(client, method, action, item_index=item_index, cursor=cursor, limit=page_size, **kwargs)
        entries.extend(answer.get(key) or [])
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return entries[:limit]
