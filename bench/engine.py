"""Engine benchmarks (``make bench``): per-node overhead in process, and webhook runs end to end.

    python -m bench.engine overhead            # µs per node on a 100-node Edit Fields chain, no DB
    python -m bench.engine e2e --mode embedded # webhook → Edit Fields (→ 10 Edit Fields), respond when done
    python -m bench.engine e2e --mode queue    # the same on PostgreSQL + Redis + 2 RQ workers
    python -m bench.engine rss --runs 10000    # a worker's RSS idle and after N runs (queue mode)

End-to-end runs save execution data, as the studio does by default. Load
comes from ``wrk`` on loopback (apt-get install wrk). Prints numbers only.
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
import time
import uuid
from collections.abc import Iterator
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


def _setup_workflows(env: dict[str, str]) -> None:
    """Migrate, then create and activate the two webhook workflows (in a child, with the bench's env)."""
    script = """
from hitl_studio import migrations
from hitl_studio.services import workflows
from hitl_studio.services.workflows import WorkflowInput
from bench.engine import chain
migrations.upgrade()
for path, length in (("bench", 1), ("bench10", 10)):
    hook = {"id": "Hook", "name": "Hook", "type": "trigger.webhook", "position": [0, 0],
            "parameters": {"path": path, "response_mode": "last_node"}}
    saved = workflows.create_workflow(WorkflowInput(name=path, **chain(length, trigger=hook)), actor=None)
    workflows.set_active(saved.id, True, actor=None)
"""
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


def e2e(mode: str, concurrency: list[int], seconds: int, workers: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hitl-bench-") as tmp, contextlib.ExitStack() as stack:
        data_dir = Path(tmp)
        extra: dict[str, str] = {}
        if mode == "queue":
            extra["DATABASE_URL"] = stack.enter_context(_postgres_database())
            extra["REDIS_URL"] = "redis://127.0.0.1:6379/0"
            extra["HITL_QUEUE_NAME"] = f"bench-{uuid.uuid4().hex[:6]}"
        env = _env(data_dir, extra)
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
        stack.enter_context(_process(server, env, data_dir / "api.log"))
        if mode == "queue":
            for index in range(workers):
                worker = [sys.executable, "-m", "hitl_studio", "worker"]
                stack.enter_context(_process(worker, env, data_dir / f"worker{index}.log"))
        _wait_http(f"http://127.0.0.1:{port}/api/v1/health")
        for path in ("bench", "bench10"):
            url = f"http://127.0.0.1:{port}/webhook/{path}"
            httpx.post(url, json={"warm": True}, timeout=30).raise_for_status()
            _wrk(url, 8, 3)
            for conc in concurrency:
                result = _wrk(url, conc, seconds)
                results.append({"mode": mode, "workflow": path, "concurrency": conc, **result})
                print(json.dumps(results[-1]), flush=True)
    return results


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
    args = parser.parse_args(argv)
    if args.command == "overhead":
        print(json.dumps(overhead(args.nodes, args.runs)))
    else:
        e2e(args.mode, [int(c) for c in args.conc.split(",")], args.seconds, args.workers)


if __name__ == "__main__":
    main()
