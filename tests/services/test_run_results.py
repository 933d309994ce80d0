"""A webhook caller's answer in embedded mode: handed over through a future, with no thread held.

The caller registers before the run is enqueued, the worker delivers once,
and the request awaits the delivery on its event loop. A thread blocked in
the wait would hold one of the loop's worker threads for the whole run.
"""

from __future__ import annotations

import asyncio

import anyio.to_thread
from starlette.concurrency import run_in_threadpool

from hitl_studio.services import run_results
from tests.loops import run_loop


def test_a_result_delivered_before_the_caller_waits_is_kept_for_it() -> None:
    run_results.expect("run-1")
    run_results.deliver("run-1", {"status": "succeeded", "items": [{"a": 1}]})
    assert run_loop(lambda: run_results.wait("run-1", 5)) == {"status": "succeeded", "items": [{"a": 1}]}


def test_a_caller_that_stopped_waiting_gets_nothing_and_a_late_delivery_is_dropped() -> None:
    run_results.expect("run-2")
    assert run_loop(lambda: run_results.wait("run-2", 0.05)) is None
    run_results.deliver("run-2", {"status": "succeeded"})  # nobody waits: no error, nothing kept
    assert run_loop(lambda: run_results.wait("run-2", 0.05)) is None


def test_only_the_first_delivery_counts() -> None:
    run_results.expect("run-3")
    run_results.deliver("run-3", {"status": "responded"})
    run_results.deliver("run-3", {"status": "succeeded"})
    assert run_loop(lambda: run_results.wait("run-3", 5)) == {"status": "responded"}


def test_waiting_callers_hold_no_worker_thread() -> None:
    async def scenario() -> list[dict[str, str] | None]:
        # One worker thread for the whole loop: if a wait sat on it, the deliveries below could not run.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        ids = [f"run-{index}" for index in range(10, 15)]
        for execution_id in ids:
            run_results.expect(execution_id)
        waits = [asyncio.create_task(run_results.wait(execution_id, 10)) for execution_id in ids]
        await asyncio.sleep(0)  # every wait has started

        def deliver_all() -> None:
            for execution_id in ids:
                run_results.deliver(execution_id, {"status": "succeeded", "id": execution_id})

        await run_in_threadpool(deliver_all)
        return await asyncio.gather(*waits)

    results = run_loop(scenario)
    assert results == [{"status": "succeeded", "id": f"run-{index}"} for index in range(10, 15)]
