"""Running a coroutine in a test, whatever loop the session left running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")


def run_loop(scenario: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``scenario`` on a fresh event loop in its own thread.

    Playwright's sync API (the browser tests, earlier in the same session) keeps a loop
    running in the main thread, where ``asyncio.run`` is refused.
    """
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(scenario())).result()  # type: ignore[arg-type]
