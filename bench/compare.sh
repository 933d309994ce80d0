#!/usr/bin/env bash
# Back to back on this machine: the n8n peer, the floor, then our queue and embedded modes; one table of
# req/s and ratios (python -m bench.compare). Peers' figures are kept in $BENCH_DIR/peers.json.
#
#   bench/compare.sh                # everything: n8n setup ~8 min the first time, its run ~13 min; floor and ours ~10 min
#   bench/compare.sh --reuse-n8n    # n8n's saved figures; measure the floor and ours
#   bench/compare.sh --reuse-peers  # n8n's and the floor's saved figures; measure ours only
#   bench/compare.sh --skip-n8n     # leave n8n out (its columns show "-" or the saved figures if any)
#   bench/compare.sh --table-only   # no measuring: the table from the saved figures (ours included)
#
# Environment: SECONDS_PER_RUN (20, as n8n's DURATION), CONC (1,8,32), BENCH_DIR (.data/bench),
# PEERS_DIR (../shared/peers), PEER_ROOT (~/.cache/hitl-peers, where the n8n peer keeps its results).
# Needs wrk, PostgreSQL and Redis on 127.0.0.1. Everything stays on loopback.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
peers_dir=${PEERS_DIR:-$root/../shared/peers}
bench_dir=${BENCH_DIR:-$root/.data/bench}
peer_root=${PEER_ROOT:-$HOME/.cache/hitl-peers}
seconds=${SECONDS_PER_RUN:-20}
conc=${CONC:-1,8,32}
stamp=$(date +%Y%m%d-%H%M%S)
peers="$bench_dir/peers.json"
run_n8n=1 run_floor=1 run_ours=1

for arg in "$@"; do
  case "$arg" in
    --reuse-n8n) run_n8n=0 ;;
    --reuse-peers) run_n8n=0; run_floor=0 ;;
    --skip-n8n) run_n8n=0 ;;
    --table-only) run_n8n=0; run_floor=0; run_ours=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "bench/compare.sh needs wrk: apt-get install -y wrk" >&2; exit 2; }
mkdir -p "$bench_dir"
cd "$root"

if [ "$run_n8n" = 1 ]; then
  echo "== n8n peer: setup (idempotent) and run-all.sh, run id hitl-$stamp"
  (cd "$peers_dir/n8n" && ./setup.sh && RUN_ID="hitl-$stamp" DURATION="$seconds" CONC="$conc" ./run-all.sh)
  "$py" -m bench.compare n8n --results "$peer_root/n8n/results" --run-id "hitl-$stamp" --peers "$peers"
fi

if [ "$run_floor" = 1 ]; then
  echo "== floor: one-worker FastAPI + one JSONB insert in PostgreSQL"
  FLOOR_SECONDS="$seconds" bash "$peers_dir/floor/run.sh" | tee "$bench_dir/floor-$stamp.txt"
  "$py" -m bench.compare floor --output "$bench_dir/floor-$stamp.txt" --peers "$peers"
fi

if [ "$run_ours" = 1 ]; then
  for mode in queue embedded; do
    echo "== ours: $mode mode"
    "$py" -m bench.engine e2e --mode "$mode" --conc "$conc" --seconds "$seconds" | tee "$bench_dir/ours-$mode-$stamp.jsonl"
    cp "$bench_dir/ours-$mode-$stamp.jsonl" "$bench_dir/ours-$mode.jsonl"
  done
fi

ours=()
for mode in queue embedded; do
  [ -f "$bench_dir/ours-$mode.jsonl" ] && ours+=("$bench_dir/ours-$mode.jsonl")
done
[ "${#ours[@]}" -gt 0 ] || { echo "no results of ours in $bench_dir yet: run without --table-only" >&2; exit 1; }
echo
echo "== webhook throughput: ours against n8n's best configuration and the floor (peers: $peers)"
"$py" -m bench.compare table --ours "${ours[@]}" --peers "$peers"
