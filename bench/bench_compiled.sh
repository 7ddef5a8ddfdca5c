#!/usr/bin/env bash
# Compiled-model speed beside the PyTorch peer, in one run (docs/quantisation.md).
#   bench/bench_compiled.sh [NCALLS]      from the source root
# Builds a Release tree in build-cc-rel/, runs bench_compiled, then the peer's
# infer_speed.py if its trained models exist (../shared/peers/models/nn-tanh-seed0);
# otherwise prints how to train them (about 15-25 min) and skips it.
# BENCH_GCC_FLAGS adds flags to the gcc build, e.g. BENCH_GCC_FLAGS=-march=native
# (the scores stay bit-identical: the products are integers, contraction stays off).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
cmake -S . -B build-cc-rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-cc-rel -j2 --target bench_compiled >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "== malstm compiled models"
./build-cc-rel/bench/bench_compiled "$N" | tee "$T/ours.txt"
PEERS=../shared/peers
echo
echo "== PyTorch peer (same machine, same run)"
if [ -d "$PEERS/models/nn-tanh-seed0" ] && [ -d "$PEERS/cache" ]; then
  (cd "$PEERS" && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 infer_speed.py 1 "$N") | tee "$T/peer.txt"
  echo
  echo "== ratios, 8 models streaming (targets: gcc >= 15x nn.LSTM and >= 3x the hand-fused step)"
  python3 - "$T/ours.txt" "$T/peer.txt" <<'PY'
import json, sys
ours = dict(kv.split("=") for kv in open(sys.argv[1]).read().split("RESULT ", 1)[1].split())
peer = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
nn, fused = peer["stream_nnLSTM_8models_calls_per_s"], peer["stream_fused_8models_calls_per_s"]
for key, name in (("gcc8", "gcc -O2"), ("native8", "gcc -O3 -march=native"), ("tcc8", "libtcc JIT")):
    v = float(ours[key])
    print(f"  {name:24s} {v:9.0f} calls/s: {v / nn:5.1f}x nn.LSTM ({nn:.0f}), {v / fused:5.2f}x hand-fused ({fused:.0f})")
PY
else
  echo "skipped: the peer's trained models are missing. To produce them (about 15-25 min):"
  echo "  cd $PEERS && /usr/bin/python3 prep.py && /usr/bin/python3 torch_peer.py --seed 0 --threads 1"
  echo "then: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 infer_speed.py 1 $N"
fi
