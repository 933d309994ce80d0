"""A page that follows the event bus: one relay per browser tab, for the page it is on.

Each live page's ``load`` calls :meth:`LivePageState._next_relay` and returns
its background ``follow`` event, which calls :meth:`LivePageState._relay`.
The relay ends when the tab closes (:func:`hitl_studio.ui.live.event_batches`),
when the tab moves to another page, or when a newer page of the same tab
started its own relay: the generation counter lives on this shared parent
state, so a tab has at most one relay at a time however it navigates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.models.users import User
from hitl_studio.ui import live
from hitl_studio.ui.state.session import NotSignedIn, SessionState

logger = logging.getLogger(__name__)

Batch = list[dict[str, Any]]


class LivePageState(SessionState):
    """The parent of every live page's state; also re-checks the user for actions that change data."""

    _relay_generation: int = 0
    _reads_started: int = 0

    def _begin_read(self) -> int:
        """Note that a read of the page's data starts (call it holding the state lock); returns its ticket.

        A relay reads off the lock, so a user's action (an import, a decision) may
        show newer data while that read is in flight; the relay then shows its
        result only if it is still :meth:`_latest_read`, never older rows over newer.
        """
        self._reads_started += 1
        return self._reads_started

    def _latest_read(self, ticket: int) -> bool:
        """Whether no read of the page started after the one holding ``ticket``."""
        return ticket == self._reads_started

    def _next_relay(self) -> int:
        """Claim the tab's relay for the page being loaded; older relays stop at their next batch."""
        self._relay_generation += 1
        return self._relay_generation

    async def _still_on(self, generation: int, path: str) -> bool:
        async with self:
            return self._relay_generation == generation and self.current_path == path

    async def _relay(
        self,
        generation: int,
        path: str,
        wanted: Callable[[dict[str, Any]], bool],
        refresh: Callable[[Batch], Awaitable[None]],
    ) -> None:
        """In a background event: ``refresh(events)`` with the ``wanted`` events of each batch, while the tab
        stays on ``path``; and once with no events just after starting (see below).

        ``refresh`` runs outside the state lock: it reads what it needs off the
        event loop, then takes ``async with self`` to change the page.
        """
        batches = live.event_batches(live.client_token(self))
        waiting = asyncio.ensure_future(anext(batches))
        try:
            while True:
                batch = await waiting
                if not await self._still_on(generation, path):
                    return
                if not batch:
                    # Subscribed: re-read once, so nothing published since the page loaded its data is missed.
                    await _guarded(refresh, [], path)
                elif events := [event for event in batch if wanted(event)]:
                    await _guarded(refresh, events, path)
                waiting = asyncio.ensure_future(anext(batches))
        except StopAsyncIteration:
            return  # the tab disconnected
        finally:
            # Also when Reflex cancels the task (the tab left the page): stop the pending step
            # first, since a generator cannot be closed while one of its steps still runs.
            await _settle(waiting)
            await batches.aclose()

    async def _acting_user(self, permission: Permission) -> User | rx.event.EventSpec:
        """The signed-in user if their role has ``permission``, else what to show instead (sign-in or a toast)."""
        try:
            return await self.authorize(permission)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    @rx.var
    def can_edit_workflows(self) -> bool:
        return allowed(self.user_role, Permission.EDIT_WORKFLOWS)

    @rx.var
    def can_run_workflows(self) -> bool:
        return allowed(self.user_role, Permission.RUN_WORKFLOWS)

    @rx.var
    def can_decide_approvals(self) -> bool:
        return allowed(self.user_role, Permission.DECIDE_APPROVALS)


async def _guarded(refresh: Callable[[Batch], Awaitable[None]], events: Batch, path: str) -> None:
    """Run one refresh; a failure is logged and the relay goes on (the next event retries)."""
    try:
        await refresh(events)
    except Exception:
        logger.exception("the live refresh of %s failed", path)


async def _settle(step: asyncio.Future[Any]) -> None:
    """Cancel ``step`` if it still runs, wait for it, and consume its outcome (so none is logged as lost)."""
    if not step.done():
        step.cancel()
    await asyncio.wait({step})
    if not step.cancelled():
        step.exception()
