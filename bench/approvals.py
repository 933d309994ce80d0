"""Approval benchmarks (issue 4, "Speed"): resume latency, inbox query and create throughput, timeout lateness.

    python -m bench.approvals --mode embedded --runs 20 --pending 500   # SQLite, in-process queue, quick check
    python -m bench.approvals --mode queue                              # PostgreSQL + Redis + 2 RQ workers + scheduler

1. resume: a workflow Manual Trigger → Approval (one approver) → Edit Fields. N runs are started and left
   waiting on their approval; then, one at a time, the bench decides each request
   (services.approvals.decide, in this process) and waits for the run to finish. Latency is
   execution.finished_at - approval.responded_at, both server-side timestamps read from the database.
2. inbox: --pending requests with timeout_seconds=3600 spread over 20 approvers; create throughput
   (the first 1,000 one by one, the rest on --create-threads threads), then the median of 20 calls of
   list_approvals(approver, mine_to_decide=True, limit=50), of the same with search="request 1" (the inbox
   search box), and of GET /api/v1/approvals?mine=true&limit=50.
3. timeouts: --timeouts requests with timeout_seconds=3 (queue mode: fired by the scheduler process and the
   workers; embedded: by the in-process queue's timer); lateness = approval_event(approval.timed_out).created_at
   - approval.expires_at.

Queue mode uses a throw-away PostgreSQL database and a unique HITL_QUEUE_NAME on the local Redis.
Prints JSON lines with numbers only; no assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.engine import ROOT, _env, _free_port, _postgres_database, _process, _wait_http

INBOX_APPROVERS = 20
REDIS_URL = "redis://127.0.0.1:6379/0"


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": _pct(values, 50),
        "p95_ms": _pct(values, 95),
        "p99_ms": _pct(values, 99),
        "max_ms": round(max(values), 2) if values else None,
        "mean_ms": round(statistics.fmean(values), 2) if values else None,
    }


def _ms(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() * 1e3


def _apply_env(env: dict[str, str]) -> None:
    """Make this process use ``env`` (as the subprocesses do), dropping any cached settings, engine and queue."""
    from hitl_studio import events
    from hitl_studio.db import reset_engine
    from hitl_studio.queue import reset_queue
    from hitl_studio.services import run_results, triggers
    from hitl_studio.settings import reset_settings

    for name in list(os.environ):
        if name not in env:
            del os.environ[name]
    os.environ.update(env)
    reset_queue()
    reset_engine()
    reset_settings()
    events.reset_bus()
    run_results.reset()
    triggers.route_cache.clear()


def _reset_process_state() -> None:
    from hitl_studio.db import reset_engine
    from hitl_studio.queue import reset_queue

    reset_queue()
    reset_engine()


@contextlib.contextmanager
def _inprocess_api(port: int) -> Iterator[None]:
    """Embedded mode: serve the API from this process (same settings, database and queue)."""
    import uvicorn

    from hitl_studio.api.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bench-api", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def _make_users(count: int) -> tuple[Any, Any, list[Any], str]:
    from hitl_studio.models.users import Role
    from hitl_studio.services import api_keys, users

    tag = uuid.uuid4().hex[:6]

    def make(role: Role, name: str) -> Any:
        email = f"{name}-{tag}@example.com"
        return users.create_user(users.NewUser(email=email, name=name, role=str(role), password="bench password 123"))

    requester = make(Role.BUILDER, "requester")
    decider = make(Role.APPROVER, "decider")
    approvers = [make(Role.APPROVER, f"approver{index}") for index in range(count)]
    key = api_keys.create_api_key(approvers[0], "bench").secret
    return requester, decider, approvers, key


def _approval_workflow(approver_email: str) -> dict[str, Any]:
    def node(name: str, type_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
        return {"id": name, "name": name, "type": type_id, "position": [0, 0], "parameters": parameters}

    return {
        "name": "bench approvals",
        "nodes": [
            node("Start", "trigger.manual", {}),
            node("Ask", "human.approval", {"title": "Bench {{ $json.n }}?", "approvers": [approver_email]}),
            node("Pay", "core.set", {"assignments": [{"name": "paid", "value": True}]}),
        ],
        "connections": {
            "Start": {"main": [[{"node": "Ask", "type": "main", "index": 0}]]},
            "Ask": {"main": [[{"node": "Pay", "type": "main", "index": 0}]]},
        },
    }


def _wait_all_waiting(run_ids: list[str], timeout: float) -> dict[str, str]:
    """Poll until every run is waiting and its approval exists; returns run id → approval id."""
    from sqlmodel import col, select

    from hitl_studio.db import session_scope
    from hitl_studio.models.approvals import Approval
    from hitl_studio.models.executions import Execution

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            found = dict(
                session.exec(
                    select(Approval.execution_id, Approval.id).where(col(Approval.execution_id).in_(run_ids))
                ).all()
            )
            waiting = session.exec(
                select(Execution.id).where(col(Execution.id).in_(run_ids), Execution.status == "waiting")
            ).all()
        if len(found) == len(run_ids) and len(waiting) == len(run_ids):
            return {str(k): v for k, v in found.items()}
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {len(waiting)}/{len(run_ids)} runs waiting, {len(found)} approvals, in {timeout} s"
            )
        time.sleep(0.05)


def _wait_finished(run_id: str, timeout: float) -> tuple[str, datetime | None]:
    from sqlmodel import select

    from hitl_studio.db import session_scope
    from hitl_studio.models.executions import Execution

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            status, finished_at = session.exec(
                select(Execution.status, Execution.finished_at).where(Execution.id == run_id)
            ).one()
        if finished_at is not None or status in ("succeeded", "failed", "cancelled", "crashed"):
            return status, finished_at
        if time.monotonic() > deadline:
            return status, None
        time.sleep(0.002)


def bench_resume(mode: str, runs: int, warmup: int, requester: Any, decider: Any) -> None:
    from sqlmodel import select

    from hitl_studio.db import session_scope
    from hitl_studio.models.approvals import Approval, EventSource
    from hitl_studio.services import approvals, executions, workflows
    from hitl_studio.services.approvals import Decider
    from hitl_studio.services.workflows import WorkflowInput

    saved = workflows.create_workflow(WorkflowInput(**_approval_workflow(decider.email)), actor=requester)
    options = executions.StartOptions(actor=requester)
    started = time.perf_counter()
    run_ids = [executions.start_execution(saved.id, [{"n": i}], options).id for i in range(warmup + runs)]
    by_run = _wait_all_waiting(run_ids, timeout=60 + 0.5 * len(run_ids))
    pause_s = time.perf_counter() - started

    latencies: list[float] = []
    decide_calls: list[float] = []
    not_succeeded = 0
    who = Decider(decider, EventSource.STUDIO)
    for index, run_id in enumerate(run_ids):
        approval_id = by_run[run_id]
        call = time.perf_counter()
        approvals.decide(approval_id, "approve", who)
        call_ms = (time.perf_counter() - call) * 1e3
        status, finished_at = _wait_finished(run_id, timeout=30)
        with session_scope() as session:
            responded_at = session.exec(select(Approval.responded_at).where(Approval.id == approval_id)).one()
        if index < warmup:
            continue
        decide_calls.append(call_ms)
        if status != "succeeded" or finished_at is None or responded_at is None:
            not_succeeded += 1
            continue
        latencies.append(_ms(finished_at, responded_at))
    _emit(
        {
            "bench": "resume",
            "mode": mode,
            "runs": runs,
            "warmup": warmup,
            "not_succeeded": not_succeeded,
            "start_and_pause_s": round(pause_s, 2),
            "decision_to_finished": _summary(latencies),
            "decide_call": _summary(decide_calls),
        }
    )


def _create_requests(approvers: list[Any], requester: Any, start: int, count: int, timeout_seconds: int) -> list[str]:
    from hitl_studio.services import approvals
    from hitl_studio.services.approvals import ApprovalInput

    ids = []
    for index in range(start, start + count):
        data = ApprovalInput(
            title=f"Bench request {index}",
            approvers=[approvers[index % len(approvers)].email],
            timeout_seconds=timeout_seconds,
            action_type="bench.refund",
            action_data={"n": index, "amount": index % 500},
        )
        ids.append(approvals.create_approval(data, requested_by=requester).id)
    return ids


def bench_inbox(
    mode: str, pending: int, threads: int, approvers: list[Any], requester: Any, api: str | None, key: str
) -> None:
    from hitl_studio.services import approvals

    first = min(1000, pending)
    started = time.perf_counter()
    _create_requests(approvers, requester, 0, first, 3600)
    first_s = time.perf_counter() - started
    rest = pending - first
    rest_s = 0.0
    if rest > 0:
        began = time.perf_counter()
        chunks = [rest // threads + (1 if i < rest % threads else 0) for i in range(threads)]
        offsets = [first + sum(chunks[:i]) for i in range(threads)]
        with ThreadPoolExecutor(threads) as pool:
            list(
                pool.map(
                    lambda a: _create_requests(approvers, requester, a[0], a[1], 3600),
                    zip(offsets, chunks, strict=True),
                )
            )
        rest_s = time.perf_counter() - began
    _emit(
        {
            "bench": "create",
            "mode": mode,
            "requests": pending,
            "first": first,
            "first_s": round(first_s, 3),
            "first_per_s": round(first / first_s, 1),
            "first_ms_each": round(first_s / first * 1e3, 2),
            "rest": rest,
            "rest_threads": threads,
            "rest_s": round(rest_s, 2),
            "rest_per_s": round(rest / rest_s, 1) if rest_s else None,
        }
    )

    viewer = approvers[0]
    # A bulk load leaves PostgreSQL's planner statistics empty until autovacuum analyses the new rows
    # (it would, within a minute, on a live studio); without them it picks a nested loop over every request.
    from sqlalchemy import text

    from hitl_studio.db import get_engine

    if get_engine().dialect.name == "postgresql":
        with get_engine().connect() as connection:
            connection.execute(text("ANALYZE approval, delivery"))
    approvals.list_approvals(viewer, mine_to_decide=True, limit=50)
    calls, total = [], 0
    for _ in range(20):
        began = time.perf_counter()
        rows, total = approvals.list_approvals(viewer, mine_to_decide=True, limit=50)
        calls.append((time.perf_counter() - began) * 1e3)
    searches, found = [], 0
    for _ in range(20):
        began = time.perf_counter()
        _, found = approvals.list_approvals(viewer, mine_to_decide=True, search="request 1", limit=50)
        searches.append((time.perf_counter() - began) * 1e3)
    record: dict[str, Any] = {
        "bench": "inbox",
        "mode": mode,
        "pending_total": pending,
        "approvers": len(approvers),
        "mine_total": total,
        "returned": len(rows),
        "service_median_ms": round(statistics.median(calls), 2),
        "service_min_ms": round(min(calls), 2),
        "service_max_ms": round(max(calls), 2),
        "search_found": found,
        "search_median_ms": round(statistics.median(searches), 2),
    }
    if api is not None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api, headers=headers, timeout=60) as client:
            client.get("/api/v1/approvals", params={"mine": "true", "limit": 50}).raise_for_status()
            http_calls = []
            for _ in range(20):
                began = time.perf_counter()
                response = client.get("/api/v1/approvals", params={"mine": "true", "limit": 50})
                http_calls.append((time.perf_counter() - began) * 1e3)
                response.raise_for_status()
        record.update(
            http_median_ms=round(statistics.median(http_calls), 2),
            http_min_ms=round(min(http_calls), 2),
            http_max_ms=round(max(http_calls), 2),
            http_bytes=len(response.content),
        )
    _emit(record)


def bench_timeouts(mode: str, count: int, seconds: int, approvers: list[Any], requester: Any) -> None:
    from sqlmodel import col, func, select

    from hitl_studio.db import session_scope
    from hitl_studio.models.approvals import Approval, ApprovalEvent

    began = time.perf_counter()
    ids = _create_requests(approvers, requester, 10_000_000, count, seconds)
    create_s = time.perf_counter() - began
    with session_scope() as session:
        last_deadline = session.exec(select(func.max(Approval.expires_at)).where(col(Approval.id).in_(ids))).one()
    # Wait until every request has left pending, or 15 s past the last deadline.
    stop = time.monotonic() + max(0.0, (last_deadline.timestamp() - time.time())) + 15
    while time.monotonic() < stop:
        with session_scope() as session:
            left = session.exec(
                select(func.count()).where(col(Approval.id).in_(ids), Approval.status == "pending")
            ).one()
        if left == 0:
            break
        time.sleep(0.2)
    with session_scope() as session:
        rows = session.exec(
            select(ApprovalEvent.created_at, Approval.expires_at)
            .join(Approval, col(Approval.id) == col(ApprovalEvent.approval_id))
            .where(col(ApprovalEvent.approval_id).in_(ids), ApprovalEvent.type == "approval.timed_out")
        ).all()
    lateness = [_ms(created, expires) for created, expires in rows]
    _emit(
        {
            "bench": "timeouts",
            "mode": mode,
            "requests": count,
            "timeout_seconds": seconds,
            "create_s": round(create_s, 2),
            "fired": len(lateness),
            "not_fired": count - len(lateness),
            "over_2000_ms": sum(1 for value in lateness if value > 2000),
            "early": sum(1 for value in lateness if value < 0),
            "lateness": {
                **{k: v for k, v in _summary(lateness).items() if k != "p99_ms"},
                "min_ms": round(min(lateness), 2) if lateness else None,
            },
        }
    )


def run(args: argparse.Namespace) -> None:
    mode = args.mode
    with tempfile.TemporaryDirectory(prefix="hitl-bench-approvals-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        extra: dict[str, str] = {}
        if mode == "queue":
            extra["DATABASE_URL"] = stack.enter_context(_postgres_database())
            extra["REDIS_URL"] = REDIS_URL
            extra["HITL_QUEUE_NAME"] = f"bench-approvals-{uuid.uuid4().hex[:6]}"
        env = _env(data_dir, extra)
        _apply_env(env)
        stack.callback(_reset_process_state)
        from hitl_studio import migrations
        from hitl_studio.settings import get_settings

        migrations.upgrade()
        requester, decider, approvers, key = _make_users(INBOX_APPROVERS)

        port = _free_port()
        api = f"http://127.0.0.1:{port}"
        logs = []
        if mode == "queue":
            server = [sys.executable, "-m", "uvicorn", "hitl_studio.api.app:create_app", "--factory",
                      "--port", str(port), "--log-level", "warning"]  # fmt: skip
            logs.append(data_dir / "api.log")
            stack.enter_context(_process(server, env, logs[-1]))
            for index in range(args.workers):
                logs.append(data_dir / f"worker{index}.log")
                stack.enter_context(_process([sys.executable, "-m", "hitl_studio", "worker"], env, logs[-1]))
            logs.append(data_dir / "scheduler.log")
            stack.enter_context(_process([sys.executable, "-m", "hitl_studio", "scheduler"], env, logs[-1]))
        else:
            stack.enter_context(_inprocess_api(port))
        _wait_http(f"{api}/api/v1/health")

        _emit(
            {
                "bench": "header",
                "mode": mode,
                "nproc": os.cpu_count(),
                "machine": platform.machine(),
                "python": platform.python_version(),
                "database": "postgresql" if mode == "queue" else "sqlite",
                "workers": args.workers if mode == "queue" else get_settings().embedded_workers,
                "runs": args.runs,
                "pending": args.pending,
                "timeouts": args.timeouts,
                "measured": [
                    "resume: execution.finished_at - approval.responded_at (DB timestamps), one decision at a time",
                    "create: approvals.create_approval throughput (first 1000 one by one, the rest on threads)",
                    "inbox: median of 20 list_approvals(mine_to_decide=True, limit=50)",
                    "inbox search: median of 20 of the same with search='request 1'",
                    "inbox http: median of 20 GET /api/v1/approvals?mine=true&limit=50",
                    "timeouts: approval.timed_out event created_at - expires_at",
                ],
            }
        )
        try:
            if args.runs:
                bench_resume(mode, args.runs, args.warmup, requester, decider)
            if args.pending:
                bench_inbox(mode, args.pending, args.create_threads, approvers, requester, api, key)
            if args.timeouts:
                bench_timeouts(mode, args.timeouts, args.timeout_seconds, approvers, requester)
        except Exception:
            traceback.print_exc()
            for log in logs:
                with contextlib.suppress(OSError):
                    tail = log.read_text(errors="replace").splitlines()[-20:]
                    print(f"--- {log.name}", *tail, sep="\n", file=sys.stderr)
            raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.approvals", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--mode", choices=["embedded", "queue"], default="queue")
    parser.add_argument("--runs", type=int, default=200, help="resumed runs measured (0 skips)")
    parser.add_argument("--warmup", type=int, default=5, help="resumed runs not counted")
    parser.add_argument("--pending", type=int, default=10_000, help="pending requests for the inbox (0 skips)")
    parser.add_argument("--create-threads", type=int, default=4, help="threads creating requests after the first 1000")
    parser.add_argument("--timeouts", type=int, default=200, help="requests left to time out (0 skips)")
    parser.add_argument("--timeout-seconds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes (queue mode)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    run(args)


if __name__ == "__main__":
    main()
