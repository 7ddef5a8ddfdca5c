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
echo "== malstm compiled models"
./build-cc-rel/bench/bench_compiled "$N"
PEERS=../shared/peers
echo
echo "== PyTorch peer (same machine, same run)"
if [ -d "$PEERS/models/nn-tanh-seed0" ] && [ -d "$PEERS/cache" ]; then
  (cd "$PEERS" && OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 infer_speed.py 1 "$N")
else
  echo "skipped: the peer's trained models are missing. To produce them (about 15-25 min):"
  echo "  cd $PEERS && /usr/bin/python3 prep.py && /usr/bin/python3 torch_peer.py --seed 0 --threads 1"
  echo "then: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 infer_speed.py 1 $N"
fi
