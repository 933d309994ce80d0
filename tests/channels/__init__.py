"""Tests of the approval channels (email, SMS), their deliveries and the decision-link page.

Shared helpers live here so the three test modules stay short; everything runs
against real local servers (aiosmtpd, a threaded HTTP server), never mocks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from hitl_studio.api import respond_page
from hitl_studio.api.app import create_app
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import ApprovalEvent, Delivery
from hitl_studio.models.users import User

API_URL = "http://testserver"
LINK = re.compile(r"http://testserver/approvals/respond/[A-Za-z0-9._~-]+")
T = TypeVar("T")


def app() -> FastAPI:
    """The API app with the link page (included here until app.py includes it itself)."""
    application = create_app()
    paths = {getattr(route, "path", None) for route in application.routes}
    if "/approvals/respond/{token}" not in paths:
        application.include_router(respond_page.router)
    return application


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "the condition") -> T:
    """Poll ``probe`` until it returns something truthy (jobs run on the embedded queue's threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def deliveries(approval_id: str, channel: str | None = None) -> list[Delivery]:
    with session_scope() as session:
        # The studio inbox rows ("studio") are not messages; these helpers look at channel deliveries.
        query = select(Delivery).where(Delivery.approval_id == approval_id, Delivery.channel != "studio")
        if channel:
            query = query.where(Delivery.channel == channel)
        return list(session.exec(query.order_by(col(Delivery.created_at), col(Delivery.id))))


def events(approval_id: str, event_type: str | None = None) -> list[ApprovalEvent]:
    with session_scope() as session:
        query = select(ApprovalEvent).where(ApprovalEvent.approval_id == approval_id)
        if event_type:
            query = query.where(ApprovalEvent.type == event_type)
        return list(session.exec(query.order_by(col(ApprovalEvent.id))))


def set_phone(user: User, phone: str | None) -> None:
    with session_scope() as session:
        session.execute(update(User).where(col(User.id) == user.id).values(phone=phone))


def smtp_env(port: int, **extra: Any) -> dict[str, Any]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none", "HITL_API_URL": API_URL, **extra}


def sms_env(base_url: str) -> dict[str, str]:
    return {
        "SMS_API_URL": base_url,
        "SMS_ACCOUNT_SID": "AC123",
        "SMS_AUTH_TOKEN": "sms-token-456",
        "SMS_FROM": "+15550000000",
        "HITL_API_URL": API_URL,
    }
