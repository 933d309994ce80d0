"""Outgoing webhooks: subscribe a URL to approval events; see each delivery's attempts.

A subscription's secret is in the creation response only; the studio keeps it
encrypted and signs every delivery with it (``X-HITL-Signature``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import approval_notifications as notifications

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Subscriber = Annotated[User, Depends(require(Permission.REQUEST_APPROVALS))]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=notifications.MAX_URL_LENGTH, description="Where to POST events (http or https).")
    events: list[str] = Field(
        description=f"Event types ({', '.join(notifications.EVENT_TYPES)}) or '*' for all of them."
    )
    secret: str | None = Field(
        default=None,
        max_length=notifications.MAX_SECRET_LENGTH,
        description="The signing secret; leave it out to get a generated one.",
    )


@router.post("", status_code=201, summary="Subscribe a URL to approval events; the secret is in this response only")
def create_webhook(body: WebhookCreate, user: Subscriber) -> dict[str, Any]:
    created = notifications.create_subscription(user, body.url, body.events, body.secret)
    return {**notifications.public_fields(created.subscription), "secret": created.secret}


@router.get("", summary="Your webhook subscriptions (admins: everyone's)")
def list_webhooks(user: Subscriber) -> list[dict[str, Any]]:
    return [notifications.public_fields(row) for row in notifications.list_subscriptions(user)]


@router.get("/callback-secret", summary="The secret that signs callbacks of the approvals you request")
def callback_secret(user: Subscriber) -> dict[str, str]:
    return {
        "secret": notifications.callback_signing_secret(user.id),
        "header": notifications.SIGNATURE_HEADER,
        "scheme": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>",
    }


@router.get("/{webhook_id}", summary="One subscription (never its secret)")
def get_webhook(webhook_id: str, user: Subscriber) -> dict[str, Any]:
    return notifications.public_fields(notifications.get_subscription(webhook_id, user))


@router.delete("/{webhook_id}", status_code=204, summary="Delete a subscription and its delivery history")
def delete_webhook(webhook_id: str, user: Subscriber) -> None:
    notifications.delete_subscription(webhook_id, user)


@router.get("/{webhook_id}/deliveries", summary="A subscription's deliveries, newest first: attempts, status codes")
def list_deliveries(
    webhook_id: str, user: Subscriber, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    return [notifications.delivery_fields(row) for row in notifications.list_deliveries(webhook_id, user, limit=limit)]
