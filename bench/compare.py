"""Our webhook throughput against the n8n peer and the floor: parse each one's output, print the ratios.

``bench/compare.sh`` runs the three back to back and calls this module; the
peers' figures are kept in one file (``.data/bench/peers.json``) so the table
can be recomputed later without running n8n again.

    python -m bench.compare n8n --results DIR --run-id ID --peers FILE   # read run-all.sh's results
    python -m bench.compare floor --output FILE --peers FILE             # read floor/run.sh's output
    python -m bench.compare table --ours FILE [FILE ...] --peers FILE    # print the table

Formats read:

- n8n (``shared/peers/n8n/load.py``): ``<results>/<run id>-<config>.jsonl``,
  one JSON record per line; ``{"kind": "webhook", "workflow", "conc", "rps",
  "host_steal_pct", ...}`` are the throughput rows. Configs: ``saveall`` (the
  default), ``saveoff``, ``legacy`` (the old expression engine).
- the floor (``shared/peers/floor/run.sh``): lines ``c=<conc> (mean <latency>) <req/s> req/s``.
- ours (``python -m bench.engine e2e``): one JSON object per line, ``{"mode",
  "workflow", "concurrency", "rps", ...}``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

N8N_CONFIGS = ("saveall", "saveoff", "legacy")
# Our workflow name → the n8n peer's workflow measuring the same thing.
PEER_WORKFLOWS = {"bench": "webhook-echo", "bench10": "webhook-10"}
# The floor is a webhook with one tiny transform: it stands beside our one-node workflow.
FLOOR_WORKFLOW = "bench"
TARGET_QUEUE_VS_N8N = 2.0
TARGET_QUEUE_VS_FLOOR = 0.25
TARGET_EMBEDDED_VS_N8N = 3.0
MAX_STEAL_PCT = 10.0
# awk prints wrk's lines in wrk's order (latency first): "c=8 (mean 27.62ms) 292.76 req/s".
_FLOOR_LINE = re.compile(r"^c=(\d+)\s.*?([0-9.]+)\s+req/s")


@dataclass(frozen=True)
class PeerRate:
    """The best req/s n8n reached for one workflow and concurrency, and in which configuration."""

    rps: float
    config: str
    steal_pct: float = 0.0


def parse_n8n(records_by_config: dict[str, Iterable[str]]) -> dict[tuple[str, int], PeerRate]:
    """n8n's best configuration per (workflow, concurrency) from load.py's JSON lines.

    Rows measured while the host stole more than :data:`MAX_STEAL_PCT` of the
    CPU are used only when no clean row exists for that cell (n8n's own
    ``compare.py`` leaves them out for the same reason).
    """
    clean: dict[tuple[str, int], PeerRate] = {}
    noisy: dict[tuple[str, int], PeerRate] = {}
    for config, lines in records_by_config.items():
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("kind") != "webhook":
                continue
            key = (str(record["workflow"]), int(record["conc"]))
            steal = float(record.get("host_steal_pct") or 0.0)
            rate = PeerRate(float(record["rps"]), config, steal)
            target = clean if steal <= MAX_STEAL_PCT else noisy
            if key not in target or rate.rps > target[key].rps:
                target[key] = rate
    return {**noisy, **clean}


def parse_floor(text: str) -> dict[int, float]:
    """req/s per concurrency from floor/run.sh's output."""
    rates: dict[int, float] = {}
    for line in text.splitlines():
        matched = _FLOOR_LINE.match(line.strip())
        if matched:
            rates[int(matched.group(1))] = float(matched.group(2))
    return rates


def parse_ours(lines: Iterable[str]) -> dict[tuple[str, str, int], float]:
    """req/s per (mode, workflow, concurrency) from bench.engine e2e's JSON lines."""
    rates: dict[tuple[str, str, int], float] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "rps" in record and "concurrency" in record:
            rates[(str(record["mode"]), str(record["workflow"]), int(record["concurrency"]))] = float(record["rps"])
    return rates


def load_peers(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def save_peers(path: Path, peers: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(peers, indent=2, sort_keys=True) + "\n")


def n8n_section(rates: dict[tuple[str, int], PeerRate], run_id: str) -> dict[str, Any]:
    """The peers file's ``n8n`` section (JSON keys are strings: ``"<workflow>@<conc>"``)."""
    return {
        "run_id": run_id,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "best": {
            f"{workflow}@{conc}": {"rps": rate.rps, "config": rate.config, "steal_pct": rate.steal_pct}
            for (workflow, conc), rate in sorted(rates.items())
        },
    }


def n8n_from_section(section: dict[str, Any]) -> dict[tuple[str, int], PeerRate]:
    rates = {}
    for key, value in (section.get("best") or {}).items():
        workflow, _, conc = key.rpartition("@")
        rates[(workflow, int(conc))] = PeerRate(float(value["rps"]), str(value["config"]), float(value["steal_pct"]))
    return rates


def floor_section(rates: dict[int, float]) -> dict[str, Any]:
    return {
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rps": {str(conc): rps for conc, rps in sorted(rates.items())},
    }


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return ours / theirs


def _cell(value: float | None, fmt: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, fmt) + suffix


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "?"
    return "ok" if value >= target else "MISS"


def table(
    ours: dict[tuple[str, str, int], float],
    n8n: dict[tuple[str, int], PeerRate],
    floor: dict[int, float],
) -> str:
    """One row per workflow and concurrency: our req/s, the peers', the ratios and the targets met."""
    header = (
        "workflow conc | queue req/s | embedded req/s | n8n best req/s (config) | floor req/s "
        "| queue/n8n | queue/floor | embedded/n8n | queue>=2x n8n | queue>=25% floor | embedded>=3x n8n"
    )
    lines = [header, "-" * len(header)]
    workflows = sorted({workflow for _, workflow, _ in ours})
    concurrencies = sorted({conc for _, _, conc in ours})
    for workflow in workflows:
        for conc in concurrencies:
            queue = ours.get(("queue", workflow, conc))
            embedded = ours.get(("embedded", workflow, conc))
            peer = n8n.get((PEER_WORKFLOWS.get(workflow, workflow), conc))
            floor_rps = floor.get(conc) if workflow == FLOOR_WORKFLOW else None
            if queue is None and embedded is None:
                continue
            queue_n8n = _ratio(queue, peer.rps if peer else None)
            queue_floor = _ratio(queue, floor_rps)
            embedded_n8n = _ratio(embedded, peer.rps if peer else None)
            noisy = ", noisy" if peer is not None and peer.steal_pct > MAX_STEAL_PCT else ""
            peer_text = "-" if peer is None else f"{peer.rps:.1f} ({peer.config}{noisy})"
            lines.append(
                f"{workflow:8} {conc:>4} | {_cell(queue, '.1f'):>11} | {_cell(embedded, '.1f'):>14} | {peer_text:>23} "
                f"| {_cell(floor_rps, '.1f'):>11} | {_cell(queue_n8n, '.2f', 'x'):>9} | "
                f"{_cell(queue_floor * 100 if queue_floor is not None else None, '.0f', '%'):>11} | "
                f"{_cell(embedded_n8n, '.2f', 'x'):>12} | {_verdict(queue_n8n, TARGET_QUEUE_VS_N8N):>13} | "
                f"{_verdict(queue_floor, TARGET_QUEUE_VS_FLOOR) if floor_rps else '-':>16} | "
                f"{_verdict(embedded_n8n, TARGET_EMBEDDED_VS_N8N):>16}"
            )
    lines.append(
        f"targets: queue mode >= {TARGET_QUEUE_VS_N8N:g}x n8n's best configuration at every concurrency and "
        f">= {TARGET_QUEUE_VS_FLOOR:.0%} of the floor; embedded mode >= {TARGET_EMBEDDED_VS_N8N:g}x n8n "
        "('?' = that peer was not measured)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    n8n = sub.add_parser("n8n", help="store the best n8n figures of one run-all.sh run in the peers file")
    n8n.add_argument("--results", type=Path, required=True, help="n8n's results folder ($N8N_DIR/results)")
    n8n.add_argument("--run-id", required=True)
    n8n.add_argument("--peers", type=Path, required=True)
    floor = sub.add_parser("floor", help="store floor/run.sh's figures in the peers file")
    floor.add_argument("--output", type=Path, required=True, help="what floor/run.sh printed")
    floor.add_argument("--peers", type=Path, required=True)
    shown = sub.add_parser("table", help="print our figures against the stored peers")
    shown.add_argument("--ours", type=Path, nargs="+", required=True, help="bench.engine e2e output files")
    shown.add_argument("--peers", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "n8n":
        files = {config: args.results / f"{args.run_id}-{config}.jsonl" for config in N8N_CONFIGS}
        found = {config: path.read_text().splitlines() for config, path in files.items() if path.exists()}
        rates = parse_n8n(found)
        if not rates:
            raise SystemExit(f"no webhook rows for run {args.run_id} in {args.results}")
        peers = load_peers(args.peers)
        peers["n8n"] = n8n_section(rates, args.run_id)
        save_peers(args.peers, peers)
    elif args.command == "floor":
        rates_by_conc = parse_floor(args.output.read_text())
        if not rates_by_conc:
            raise SystemExit(f"no 'c=<n> ... <req/s> req/s' lines in {args.output}")
        peers = load_peers(args.peers)
        peers["floor"] = floor_section(rates_by_conc)
        save_peers(args.peers, peers)
    else:
        peers = load_peers(args.peers)
        ours: dict[tuple[str, str, int], float] = {}
        for path in args.ours:
            ours.update(parse_ours(path.read_text().splitlines()))
        floor_rates = {int(conc): float(rps) for conc, rps in (peers.get("floor") or {}).get("rps", {}).items()}
        print(table(ours, n8n_from_section(peers.get("n8n") or {}), floor_rates))


if __name__ == "__main__":
    main()
