"""The one interface every approval channel speaks (email, SMS; Slack later).

A channel says whether it is configured, whom it reaches for a request (one
address per approver: an email, a phone number) and sends one message with the
approver's personal decision link. Delivery rows, retries and fallback live in
:mod:`hitl_studio.services.deliveries`; channels never touch the database
except to look up the approvers.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from sqlmodel import Session, col, select

from hitl_studio.models.approvals import Approval, EventSource
from hitl_studio.models.users import User, UserGroup, UserGroupMember
from hitl_studio.settings import Settings

REMINDER_PREFIX = "Reminder: "
"""What a reminder's subject or first line starts with, on every channel."""


class ChannelError(Exception):
    """A message could not be sent; the text says why (it ends up in ``delivery.last_error``)."""


def approver_users(session: Session, approval: Approval) -> list[User]:
    """The active users a request is currently addressed to, groups expanded, each once, in order."""
    users: dict[str, User] = {}
    for entry in approval.approvers:
        if entry.startswith("group:"):
            rows = session.exec(
                select(User)
                .join(UserGroupMember, col(UserGroupMember.user_id) == col(User.id))
                .join(UserGroup, col(UserGroup.id) == col(UserGroupMember.group_id))
                .where(UserGroup.name == entry.removeprefix("group:"), col(User.active))
                .order_by(col(User.email))
            )
            for user in rows:
                users.setdefault(user.id, user)
        else:
            user = session.exec(select(User).where(User.email == entry, col(User.active))).first()
            if user is not None:
                users.setdefault(user.id, user)
    return list(users.values())


class Channel(abc.ABC):
    """One way of reaching approvers outside the studio."""

    name: ClassVar[str]
    source: ClassVar[EventSource]
    """The event source a decision made through this channel is recorded with."""

    @abc.abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Whether the studio has what this channel needs to send (server, account...)."""

    @abc.abstractmethod
    def address(self, user: User) -> str | None:
        """Where this channel reaches ``user`` (an email, a phone number), or None if it cannot."""

    def recipients(self, session: Session, approval: Approval) -> list[str]:
        """The addresses of the request's current approvers that this channel can reach."""
        found = (self.address(user) for user in approver_users(session, approval))
        return list(dict.fromkeys(address for address in found if address))

    def describe_recipient(self, recipient: str) -> str:
        """The recipient as shown on the request's timeline (a channel may mask it)."""
        return recipient

    @abc.abstractmethod
    def send(self, approval: Approval, recipient: str, link: str, *, reminder: bool = False) -> dict[str, Any]:
        """Send the request with its personal ``link`` to ``recipient``.

        With ``reminder`` the message says so ("Reminder: ..."): the request is still
        waiting for this person and its deadline is near.

        Returns:
            What the provider said about the message (e.g. its id), kept in ``delivery.meta``.

        Raises:
            ChannelError: The message was not accepted; the text says why.
        """
