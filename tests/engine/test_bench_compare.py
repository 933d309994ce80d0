"""bench/compare.py reads the peers' outputs as their scripts write them, and prints the ratios against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import compare


def n8n_record(workflow: str, conc: int, rps: float, steal: float = 0.5) -> str:
    """One throughput row as shared/peers/n8n/load.py's ``record`` appends it (a subset of its fields)."""
    return json.dumps(
        {
            "kind": "webhook",
            "workflow": workflow,
            "url": f"http://127.0.0.1:5678/webhook/{workflow}",
            "conc": conc,
            "duration_s": 20,
            "warmup_s": 5,
            "rps": rps,
            "p50_ms": 84.0,
            "p95_ms": 140.0,
            "p99_ms": 184.0,
            "errors": 0,
            "n8n_cpu_cores": 1.7,
            "rss_main_mib_max": 620.0,
            "host_steal_pct": steal,
            "ts": "2026-11-23T15:42:21",
            "label": "run-saveall",
            "save_on_success_env": "all",
        }
    )


# What shared/peers/floor/run.sh prints after psql's notices: "c=<n> ", then awk's "(mean <latency>) " and
# "<req/s> req/s ", in the order wrk prints its Latency and Requests/sec lines.
FLOOR_OUTPUT = (
    'NOTICE:  database "limit_probe" does not exist, skipping\n'
    "c=1 (mean 3.10ms) 320.45 req/s \nc=8 (mean 11.52ms) 690.12 req/s \nc=32 (mean 48.20ms) 660.00 req/s \n"
)


def test_the_floor_output_gives_req_per_second_by_concurrency() -> None:
    assert compare.parse_floor(FLOOR_OUTPUT) == {1: 320.45, 8: 690.12, 32: 660.0}
    assert compare.parse_floor("psql: notice\nCREATE DATABASE\n") == {}


def test_n8n_best_configuration_is_taken_per_workflow_and_concurrency() -> None:
    runs = {
        "saveall": [
            n8n_record("webhook-echo", 1, 13.1),
            json.dumps({"kind": "idle", "rss_main_mib_mean": 422}),
            "",
        ],
        "legacy": [n8n_record("webhook-echo", 1, 52.9), n8n_record("webhook-10", 8, 37.5)],
        "saveoff": [n8n_record("webhook-10", 8, 14.3)],
    }

    best = compare.parse_n8n(runs)

    assert best[("webhook-echo", 1)] == compare.PeerRate(52.9, "legacy", 0.5)
    assert best[("webhook-10", 8)].config == "legacy"
    assert set(best) == {("webhook-echo", 1), ("webhook-10", 8)}


def test_rows_measured_under_heavy_steal_count_only_when_nothing_cleaner_exists() -> None:
    runs = {
        "saveall": [n8n_record("webhook-echo", 8, 16.2)],
        "legacy": [n8n_record("webhook-echo", 8, 75.5, steal=38.0), n8n_record("webhook-echo", 32, 13.7, steal=40.0)],
    }

    best = compare.parse_n8n(runs)

    assert best[("webhook-echo", 8)] == compare.PeerRate(16.2, "saveall", 0.5)
    assert best[("webhook-echo", 32)].steal_pct == 40.0


def test_our_lines_are_read_and_anything_else_skipped() -> None:
    lines = [
        '{"mode": "queue", "workflow": "bench", "concurrency": 8, "requests": 1090, "seconds": 10.0, "rps": 109.0}',
        "== ours: queue mode",
        '{"nodes": 101, "us_per_node": 12.5}',
    ]

    assert compare.parse_ours(lines) == {("queue", "bench", 8): 109.0}


def test_the_table_shows_ratios_and_which_targets_are_met() -> None:
    ours = {("queue", "bench", 8): 150.0, ("embedded", "bench", 8): 200.0, ("queue", "bench10", 8): 80.0}
    n8n = {("webhook-echo", 8): compare.PeerRate(62.7, "legacy"), ("webhook-10", 8): compare.PeerRate(37.5, "legacy")}

    text = compare.table(ours, n8n, {8: 600.0})

    bench_row = next(line for line in text.splitlines() if line.startswith("bench      "))
    cells = [cell.strip() for cell in bench_row.split("|")]
    assert cells[1:8] == ["150.0", "200.0", "62.7 (legacy)", "600.0", "2.39x", "25%", "3.19x"]
    assert cells[8:] == ["ok", "ok", "ok"]
    bench10_row = next(line for line in text.splitlines() if line.startswith("bench10"))
    assert [cell.strip() for cell in bench10_row.split("|")][-3:] == ["ok", "-", "?"]
    assert "queue mode >= 2x n8n" in text


def test_a_missed_target_and_a_missing_peer_are_marked() -> None:
    text = compare.table({("queue", "bench", 1): 60.0}, {("webhook-echo", 1): compare.PeerRate(52.9, "legacy")}, {})

    row = next(line for line in text.splitlines() if line.startswith("bench "))
    assert [cell.strip() for cell in row.split("|")][-3:] == ["MISS", "-", "?"]


def test_the_command_line_stores_peers_and_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "hitl-1-saveall.jsonl").write_text(n8n_record("webhook-echo", 1, 13.1) + "\n")
    (results / "hitl-1-legacy.jsonl").write_text(n8n_record("webhook-echo", 1, 52.9) + "\n")
    floor = tmp_path / "floor.txt"
    floor.write_text(FLOOR_OUTPUT)
    ours = tmp_path / "ours.jsonl"
    ours.write_text('{"mode": "queue", "workflow": "bench", "concurrency": 1, "rps": 120.0}\n')
    peers = tmp_path / "peers.json"

    compare.main(["n8n", "--results", str(results), "--run-id", "hitl-1", "--peers", str(peers)])
    compare.main(["floor", "--output", str(floor), "--peers", str(peers)])
    compare.main(["table", "--ours", str(ours), "--peers", str(peers)])

    stored = json.loads(peers.read_text())
    assert stored["n8n"]["best"]["webhook-echo@1"] == {"rps": 52.9, "config": "legacy", "steal_pct": 0.5}
    assert stored["floor"]["rps"] == {"1": 320.45, "8": 690.12, "32": 660.0}
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("bench "))
    assert [cell.strip() for cell in row.split("|")][5:7] == ["2.27x", "37%"]


def test_a_run_without_results_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no webhook rows for run hitl-2"):
        compare.main(["n8n", "--results", str(tmp_path), "--run-id", "hitl-2", "--peers", str(tmp_path / "p.json")])
