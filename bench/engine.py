"""Engine benchmarks (``make bench``): per-node overhead in process, webhook runs end to end, memory, counts.

    python -m bench.engine overhead            # µs per node on a 100-node Edit Fields chain, no DB
    python -m bench.engine e2e --mode embedded # webhook → Edit Fields (→ 10 Edit Fields), respond when done
    python -m bench.engine e2e --mode queue    # the same on PostgreSQL + Redis + 2 RQ workers
    python -m bench.engine rss --runs 10000    # a worker's RSS idle and after N webhook runs (queue mode)
    python -m bench.engine counts --mode queue # SQL statements, commits, Redis round trips per webhook run
    python -m bench.engine counts --profile    # ... and Python calls per run (cProfile, one thread)

End-to-end runs save execution data, as the studio does by default. Load
comes from ``wrk`` on loopback (apt-get install wrk). Prints numbers only, one
JSON object per line. On a shared machine wall-clock figures mostly measure
the neighbours: ``counts`` does not move with load, and is what changes to the
webhook path are judged by.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
POST_LUA = Path(__file__).with_name("post.lua")


def chain(length: int, *, trigger: dict[str, Any]) -> dict[str, Any]:
    """A trigger followed by ``length`` Edit Fields nodes, each adding step_<i>."""
    nodes = [trigger]
    connections: dict[str, Any] = {}
    previous = trigger["name"]
    for index in range(1, length + 1):
        name = f"Set {index}"
        nodes.append(
            {
                "id": name,
                "name": name,
                "type": "core.set",
                "position": [index * 200, 0],
                "parameters": {"assignments": [{"name": f"step_{index}", "value": index}]},
            }
        )
        connections[previous] = {"main": [[{"node": name, "type": "main", "index": 0}]]}
        previous = name
    return {"nodes": nodes, "connections": connections}


def overhead(length: int = 100, runs: int = 300) -> dict[str, float]:
    from hitl_studio.engine.graph import parse_workflow
    from hitl_studio.engine.host import LocalHost
    from hitl_studio.engine.runner import Runner
    from nodes.registry import get_registry
    from nodes.sdk import Item

    trigger = {"id": "Start", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}}
    graph = parse_workflow({"name": "bench", **chain(length, trigger=trigger)})
    registry, host = get_registry(), LocalHost()

    def once() -> None:
        Runner(graph, registry, host).start("Start", [Item({"hello": "world", "n": 42})])

    for _ in range(30):
        once()
    started = time.perf_counter()
    for _ in range(runs):
        once()
    elapsed = time.perf_counter() - started
    per_node = elapsed / runs / (length + 1) * 1e6
    return {
        "nodes": length + 1,
        "runs": runs,
        "us_per_node": round(per_node, 2),
        "ms_per_run": round(elapsed / runs * 1e3, 3),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    import psycopg

    name = f"hitl_bench_{uuid.uuid4().hex[:8]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HITL_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"HITL_DATA_DIR": str(data_dir), "HITL_LOG_LEVEL": "warning", **extra})
    return env


def create_bench_workflows() -> None:
    """Migrate, then create and activate the two webhook workflows: /webhook/bench and /webhook/bench10."""
    from hitl_studio import migrations
    from hitl_studio.services import workflows
    from hitl_studio.services.workflows import WorkflowInput

    migrations.upgrade()
    for path, length in (("bench", 1), ("bench10", 10)):
        hook = {
            "id": "Hook",
            "name": "Hook",
            "type": "trigger.webhook",
            "position": [0, 0],
            "parameters": {"path": path, "response_mode": "last_node"},
        }
        saved = workflows.create_workflow(WorkflowInput(name=path, **chain(length, trigger=hook)), actor=None)
        workflows.set_active(saved.id, True, actor=None)


def _setup_workflows(env: dict[str, str]) -> None:
    """:func:`create_bench_workflows` in a child process, with the bench's environment."""
    script = "from bench.engine import create_bench_workflows; create_bench_workflows()"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def _wrk(url: str, concurrency: int, seconds: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    output = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(POST_LUA), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    return result


def _mode_settings(mode: str, stack: contextlib.ExitStack) -> dict[str, str]:
    """The environment of a mode: queue mode gets a throw-away PostgreSQL database, Redis and its own queue."""
    if mode != "queue":
        return {}
    return {
        "DATABASE_URL": stack.enter_context(_postgres_database()),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "HITL_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:6]}",
    }


@contextlib.contextmanager
def _studio(mode: str, workers: int) -> Iterator[tuple[int, list[subprocess.Popen[bytes]], subprocess.Popen[bytes]]]:
    """The API on a free port (and ``workers`` RQ workers in queue mode), with the bench workflows active.

    Yields the port, the worker processes and the API process.
    """
    with tempfile.TemporaryDirectory(prefix="hitl-bench-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        env = _env(data_dir, _mode_settings(mode, stack))
        _setup_workflows(env)
        port = _free_port()
        server = [
            sys.executable,
            "-m",
            "uvicorn",
            "hitl_studio.api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        api = stack.enter_context(_process(server, env, data_dir / "api.log"))
        started = []
        if mode == "queue":
            for index in range(workers):
                worker = [sys.executable, "-m", "hitl_studio", "worker"]
                started.append(stack.enter_context(_process(worker, env, data_dir / f"worker{index}.log")))
        _wait_http(f"http://127.0.0.1:{port}/api/v1/health")
        yield port, started, api


def e2e(mode: str, concurrency: list[int], seconds: int, workers: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with _studio(mode, workers) as (port, _workers, _api):
        for path in ("bench", "bench10"):
            url = f"http://127.0.0.1:{port}/webhook/{path}"
            httpx.post(url, json={"warm": True}, timeout=30).raise_for_status()
            _wrk(url, 8, 3)
            for conc in concurrency:
                result = _wrk(url, conc, seconds)
                results.append({"mode": mode, "workflow": path, "concurrency": conc, **result})
                print(json.dumps(results[-1]), flush=True)
    return results


def _rss_mib(pid: int) -> float:
    """Resident memory of one process (``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"process {pid} has no VmRSS (has it ended?)")


def _post_many(url: str, total: int, concurrency: int) -> int:
    """POST ``total`` webhook calls over ``concurrency`` keep-alive connections; returns how many failed."""
    failures = 0
    lock = threading.Lock()

    def send(count: int) -> None:
        nonlocal failures
        with httpx.Client(timeout=60) as client:
            for _ in range(count):
                if client.post(url, json={"hello": "world", "n": 42}).status_code >= 300:
                    with lock:
                        failures += 1

    shares = [total // concurrency + (1 if index < total % concurrency else 0) for index in range(concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, shares))
    return failures


def rss(mode: str, runs: int, concurrency: int = 8, warm_runs: int = 200, settle: float = 5.0) -> dict[str, Any]:
    """The worker's resident memory idle, after a warm-up, and after ``runs`` webhook runs.

    The worker is the one RQ worker process in queue mode and the studio process
    (which runs jobs on its threads) in embedded mode. "Idle" is before any run;
    growth is measured from after the warm-up, once lazy imports and caches are in.
    """
    with _studio(mode, workers=1) as (port, workers, api):
        pid = workers[0].pid if workers else api.pid
        url = f"http://127.0.0.1:{port}/webhook/bench"
        time.sleep(settle)
        idle = _rss_mib(pid)
        failed = _post_many(url, warm_runs, concurrency)
        time.sleep(settle)
        warm = _rss_mib(pid)
        failed += _post_many(url, runs, concurrency)
        time.sleep(settle)
        after = _rss_mib(pid)
    return {
        "mode": mode,
        "process": "rq worker" if mode == "queue" else "studio (embedded worker threads)",
        "runs": runs,
        "failed": failed,
        "rss_idle_mib": idle,
        "rss_after_warmup_mib": warm,
        "rss_after_runs_mib": after,
        "growth_after_warmup_pct": round((after - warm) / warm * 100, 1),
    }


@contextlib.contextmanager
def _in_process_studio(mode: str) -> Iterator[None]:
    """This process configured as a studio of ``mode`` (SQLite, or PostgreSQL + Redis), bench workflows active."""
    from hitl_studio import events
    from hitl_studio.db import reset_engine
    from hitl_studio.queue import reset_queue
    from hitl_studio.settings import reset_settings

    def reset() -> None:
        reset_queue()
        reset_engine()
        reset_settings()
        events.reset_bus()

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="hitl-bench-") as tmp, contextlib.ExitStack() as stack:
        os.environ.clear()
        os.environ.update(_env(Path(tmp), _mode_settings(mode, stack)))
        reset()
        try:
            create_bench_workflows()
            yield
        finally:
            reset()
            os.environ.clear()
            os.environ.update(saved)


def counts(mode: str, runs: int, path: str = "bench", warm_runs: int = 20, profile: bool = False) -> dict[str, Any]:
    """SQL statements, commits and Redis round trips per webhook run, counted in one process.

    The API is called in process (FastAPI's test client, one call at a time);
    in queue mode our RQ worker (``HitlSimpleWorker``) runs the jobs on this thread, so its
    Redis traffic is counted too. With ``profile``, also the Python calls of
    the run's path without HTTP and queue (record, execute, hand over the
    result), on one thread under cProfile.
    """
    from fastapi.testclient import TestClient

    from bench.counters import counting, per_run, profile_calls
    from hitl_studio.api.app import create_app
    from hitl_studio.db import get_engine

    with _in_process_studio(mode), TestClient(create_app()) as client, counting(get_engine()) as tally:
        url = f"/webhook/{path}"
        body = {"hello": "world", "n": 42}
        failures: list[int] = []

        def call(count: int) -> None:
            for _ in range(count):
                status = client.post(url, json=body).status_code
                if status != 200:
                    failures.append(status)

        if mode == "queue":
            from hitl_studio.queue import get_queue
            from hitl_studio.queue.worker import HitlSimpleWorker

            def calls() -> None:
                call(warm_runs)
                tally.reset()
                call(runs)

            caller = threading.Thread(target=calls, name="bench-caller")
            caller.start()
            queue = get_queue().queue  # type: ignore[attr-defined]
            HitlSimpleWorker([queue], connection=queue.connection).work(
                max_jobs=warm_runs + runs, logging_level="WARNING"
            )
            caller.join()
        else:
            call(warm_runs)
            tally.reset()
            call(runs)
        measured = tally.snapshot()
        result: dict[str, Any] = {"mode": mode, "workflow": path, "runs": runs, "failed": len(failures)}
        result.update(per_run(measured, runs))
        if profile:
            result.update(profile_calls(_run_path(path), runs))
    return result


def _run_path(path: str) -> Any:
    """One webhook run's path without HTTP and the queue hop, on the calling thread (for cProfile)."""
    from hitl_studio.models.executions import ExecutionMode
    from hitl_studio.services import executions, run_results, triggers

    def once() -> None:
        found = triggers.find_webhook("POST", path)
        assert found is not None, f"no webhook on /webhook/{path}"
        route = found[0]
        item = {"headers": {}, "params": {}, "query": {}, "body": {"hello": "world", "n": 42}}
        options = executions.StartOptions(
            mode=ExecutionMode.WEBHOOK, start_node=route.node_name, notify=True, version=route.version
        )
        execution = executions.create_execution(route.workflow_id, [{"json": item}], options)
        run_results.expect(execution.id)
        executions.run_execution(execution.id)
        assert run_results.wait(execution.id, 5) is not None

    return once


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    over = sub.add_parser("overhead")
    over.add_argument("--nodes", type=int, default=100)
    over.add_argument("--runs", type=int, default=300)
    run = sub.add_parser("e2e")
    run.add_argument("--mode", choices=["embedded", "queue"], default="embedded")
    run.add_argument("--conc", default="1,8,32")
    run.add_argument("--seconds", type=int, default=10)
    run.add_argument("--workers", type=int, default=2)
    memory = sub.add_parser("rss")
    memory.add_argument("--mode", choices=["embedded", "queue"], default="queue")
    memory.add_argument("--runs", type=int, default=10_000)
    memory.add_argument("--conc", type=int, default=8)
    counted = sub.add_parser("counts")
    counted.add_argument("--mode", choices=["embedded", "queue"], default="embedded")
    counted.add_argument("--runs", type=int, default=200)
    counted.add_argument("--workflow", choices=["bench", "bench10"], default="bench")
    counted.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "overhead":
        print(json.dumps(overhead(args.nodes, args.runs)))
    elif args.command == "rss":
        print(json.dumps(rss(args.mode, args.runs, args.conc)))
    elif args.command == "counts":
        print(json.dumps(counts(args.mode, args.runs, args.workflow, profile=args.profile)))
    else:
        e2e(args.mode, [int(c) for c in args.conc.split(",")], args.seconds, args.workers)


if __name__ == "__main__":
    main()
