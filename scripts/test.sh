#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 (as root):
#   1. install missing packages (scripts/install-deps.sh, idempotent)
#   2. build everything with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   3. run every cmocka/CLI test with ctest
#   4. int8 parity on trained models: a Release build (build-rel/) trains the eight models on
#      the dev split's train part (build-rel/parity/models/) and test_compile_parity scores all
#      648 traces with them: per-model tolerances, JIT == gcc bits, label agreement >= 99%
#   5. build the libFuzzer targets with clang (build-fuzz/) and run each for a bounded time
# Exit status is non-zero if any step fails. MALSTM_FUZZ_SECONDS (default 30) sets the fuzz time.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
FUZZ_SECONDS=${MALSTM_FUZZ_SECONDS:-30}

scripts/install-deps.sh

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DMALSTM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j"$JOBS"

echo "== tests"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
(cd build-asan && ctest --output-on-failure -j"$JOBS")

echo "== int8 parity on trained models (Release build)"
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DMALSTM_SANITIZE=OFF -DMALSTM_FUZZ=OFF >/dev/null
cmake --build build-rel -j"$JOBS" --target maltrain test_compile_parity
rm -rf build-rel/parity
JOBS=$JOBS scripts/train-models.sh build-rel/trainer/maltrain build-rel/parity > build-rel/parity.log \
    || { tail -n 40 build-rel/parity.log; exit 1; }
MALSTM_PARITY_MODELS=build-rel/parity/models build-rel/tests/test_compile_parity

echo "== fuzz (libFuzzer, ${FUZZ_SECONDS}s per target)"
CC=clang cmake -S . -B build-fuzz -DMALSTM_FUZZ=ON -DMALSTM_FUZZ_SECONDS="$FUZZ_SECONDS" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$JOBS"      # the whole tree with clang too: a second compiler's warnings
(cd build-fuzz && ctest --output-on-failure -R '^fuzz_')
