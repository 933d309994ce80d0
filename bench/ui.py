"""Editor benchmarks (issue 5, "Speed"), measured in a real browser against a production build.

    python -m bench.ui                    # 300 nodes, 300 edges
    python -m bench.ui --nodes 500        # bigger

1. open: a workflow of --nodes nodes (a Manual Trigger and a chain of Edit Fields on a grid) with as
   many edges (the chain plus one extra edge) is opened at /workflows/{id}; the time from navigation
   to every card drawn and a click selecting a node (the config panel shows its name) — "interactive".
2. drag: one card is dragged across the canvas in 60 mouse steps; the browser's frame times during the
   drag (requestAnimationFrame deltas), average and p95, in ms.
3. status: the workflow is run; a MutationObserver records, for each card, when it first shows
   "succeeded" (Date.now() in the page), and when the next frame after that was painted; the latency
   is that time minus each step's finished_at in the database (same machine, same clock): p50, p95,
   max in ms, in the page and painted; also how long the run took (first to last step finished) and
   when the first and the last card turned green, counted from the first step's end, and when the first
   websocket message carrying a "succeeded" status arrived (server side vs. browser side). While it waits,
   the benchmark polls one cheap page variable, never Playwright locators (their in-page checks over
   300 cards would compete with the canvas for the page's thread).

Uses the test suite's launcher (tests/browser/studio.py: `reflex run --env prod` on a free port, SQLite,
embedded queue) and Debian's Chromium. Prints JSON lines with numbers only; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN = ("bench@example.com", "bench-password-1")
COLUMNS = 20


def big_workflow(count: int) -> dict[str, Any]:
    """A Manual Trigger and ``count - 1`` Edit Fields in a chain on a grid, plus one extra edge."""
    nodes = [{"id": "n0", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}}]
    for index in range(1, count):
        nodes.append(
            {
                "id": f"n{index}",
                "name": f"Step {index}",
                "type": "core.set",
                "position": [(index % COLUMNS) * 260, (index // COLUMNS) * 140],
                "parameters": {"assignments": [{"name": f"f{index}", "value": index}]},
            }
        )
    connections: dict[str, Any] = {}
    for index in range(count - 1):
        source = nodes[index]["name"]
        connections[source] = {"main": [[{"node": nodes[index + 1]["name"], "type": "main", "index": 0}]]}
    connections["Start"]["main"][0].append({"node": nodes[2]["name"], "type": "main", "index": 0})
    return {"name": f"Bench {count} nodes", "nodes": nodes, "connections": connections}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(name: str, **numbers: Any) -> None:
    print(json.dumps({"bench": name, **numbers}), flush=True)


FRAME_PROBE = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__probing) requestAnimationFrame(tick);
  };
  window.__probing = true;
  requestAnimationFrame(tick);
}"""

STATUS_PROBE = """() => {
  window.__socket = [];
  window.__seen = {};
  window.__painted = {};
  const afterPaint = (names) => requestAnimationFrame(() => setTimeout(() => {
    const now = Date.now();
    for (const name of names) window.__painted[name] = now;
  }, 0));
  const record = () => {
    const fresh = [];
    for (const card of document.querySelectorAll('[data-testid^="canvas-node-"][data-status="succeeded"]')) {
      const name = card.getAttribute('data-testid').slice('canvas-node-'.length);
      if (!(name in window.__seen)) { window.__seen[name] = Date.now(); fresh.push(name); }
    }
    if (fresh.length) afterPaint(fresh);
  };
  const watched = {subtree: true, attributes: true, attributeFilter: ['data-status']};
  new MutationObserver(record).observe(document.body, watched);
}"""


SOCKET_PROBE = """(() => {
  // Runs before the page's scripts: notes when each websocket message that carries a
  // "succeeded" status arrives, so the status latency splits into server and browser.
  window.__socket = [];
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string' && event.data.includes('succeeded')) {
        window.__socket.push([Date.now(), event.data.length]);
      }
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})()"""


def run(count: int) -> None:
    from playwright.sync_api import expect, sync_playwright

    sys.path.insert(0, str(REPO))
    from tests.browser.studio import running_studio

    root = Path(tempfile.mkdtemp(prefix="hitl-bench-ui-"))
    env = {**os.environ, "HITL_DATA_DIR": str(root / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "hitl_studio", "migrate"], cwd=REPO, env=env, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-m", "hitl_studio", "create-admin", "--email", ADMIN[0], "--password-stdin"],
        input=f"{ADMIN[1]}\n".encode(),
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    with running_studio(root / "data", root / "studio.log") as studio:
        token = httpx.post(
            f"{studio.api_url}/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{studio.api_url}/api/v1/workflows", json=big_workflow(count), headers=headers, timeout=60
        )
        created.raise_for_status()
        workflow_id = created.json()["id"]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=studio.url, viewport={"width": 1600, "height": 900})
            context.set_default_timeout(60_000)
            context.add_init_script(SOCKET_PROBE)
            page = context.new_page()
            page.goto("/login")
            page.locator("#email").fill(ADMIN[0])
            page.locator("#password").fill(ADMIN[1])
            page.get_by_test_id("login-submit").click()
            page.wait_for_url(lambda url: "/login" not in url)

            # 1. open → every card drawn → a click selects a node.
            for attempt in ("cold", "warm"):
                started = time.monotonic()
                page.goto(f"/workflows/{workflow_id}")
                page.wait_for_function(
                    f"document.querySelectorAll('.react-flow__node').length >= {count}", polling="raf"
                )
                drawn = time.monotonic()
                page.get_by_test_id("canvas-node-Start").click()
                expect(page.get_by_test_id("node-name")).to_have_value("Start")
                interactive = time.monotonic()
                report(
                    "ui.open",
                    attempt=attempt,
                    nodes=count,
                    edges=count,
                    drawn_ms=round((drawn - started) * 1000),
                    interactive_ms=round((interactive - started) * 1000),
                )
            page.get_by_test_id("close-panel").click()

            # 2. drag one card in 60 steps and time the frames.
            box = page.get_by_test_id("canvas-node-Start").bounding_box()
            assert box is not None
            x, y = box["x"] + 60, box["y"] + 20
            page.evaluate(FRAME_PROBE)
            page.mouse.move(x, y)
            page.mouse.down()
            for step in range(1, 61):
                page.mouse.move(x + step * 6, y + step * 3)
            page.mouse.up()
            page.evaluate("() => { window.__probing = false; }")
            frames = page.evaluate("() => window.__frames.slice(2)")
            report(
                "ui.drag",
                nodes=count,
                frames=len(frames),
                frame_avg_ms=round(statistics.fmean(frames), 1),
                frame_p95_ms=round(percentile(frames, 0.95), 1),
            )

            # 3. run it and see each card turn green.
            page.evaluate(STATUS_PROBE)
            page.get_by_test_id("open-run").click()
            page.get_by_test_id("run-workflow").click()
            # Wait without Playwright's locator checks, whose in-page work (text, visibility and hit
            # tests over 300 cards) would compete with the canvas for the page's only thread.
            page.wait_for_function(f"Object.keys(window.__painted).length >= {count}", polling=250, timeout=120_000)
            seen = page.evaluate("() => window.__seen")
            painted = page.evaluate("() => window.__painted")
            socket = page.evaluate("() => window.__socket")
            run_id = page.get_by_test_id("run-details").get_attribute("href").rsplit("/", 1)[-1]
            browser.close()

        detail = httpx.get(f"{studio.api_url}/api/v1/executions/{run_id}", headers=headers, timeout=60).json()
        latencies, painted_latencies = [], []
        for step in detail["steps"]:
            if step["node"] in seen and step.get("finished_at"):
                finished = _epoch_ms(step["finished_at"])
                latencies.append(seen[step["node"]] - finished)
                painted_latencies.append(painted[step["node"]] - finished)
        first_finish = min(_epoch_ms(step["finished_at"]) for step in detail["steps"] if step.get("finished_at"))
        last_finish = max(_epoch_ms(step["finished_at"]) for step in detail["steps"] if step.get("finished_at"))
        report(
            "ui.status",
            nodes=count,
            steps=len(latencies),
            run_span_ms=round(last_finish - first_finish),
            socket_first_ms=round(socket[0][0] - first_finish) if socket else None,
            socket_messages=len(socket),
            socket_kib=round(sum(size for _, size in socket) / 1024, 1),
            first_card_ms=round(min(seen.values()) - first_finish),
            last_card_ms=round(max(seen.values()) - first_finish),
            p50_ms=round(percentile(latencies, 0.5)),
            p95_ms=round(percentile(latencies, 0.95)),
            max_ms=round(max(latencies)),
            painted_p50_ms=round(percentile(painted_latencies, 0.5)),
            painted_p95_ms=round(percentile(painted_latencies, 0.95)),
            painted_max_ms=round(max(painted_latencies)),
        )


def _epoch_ms(iso: str) -> float:
    from datetime import datetime

    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=300)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"bench.ui needs {CHROMIUM}: apt-get install -y chromium")
    run(max(3, args.nodes))


if __name__ == "__main__":
    main()
