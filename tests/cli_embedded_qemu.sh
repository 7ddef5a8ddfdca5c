#!/usr/bin/env bash
# cli_embedded_qemu.sh BUILD_DIR - the eight generated classifiers on a
# Cortex-M4F (QEMU mps2-an386) agree bit for bit with the host gcc build, in
# both profiles of `malcc --target cortex-m`.
#
# Run by ctest from the source root. Steps: eight models (synthetic, fixed
# seeds, or $MALSTM_EMB_MODELS/*.json) -> `malcc --target cortex-m --profile
# fast` and `--profile small` -> each directory of generated sources built
# twice with embedded/CMakeLists.txt: for the board (toolchain file
# embedded/arm-none-eabi.cmake, -mcpu=cortex-m4 -mthumb -mfloat-abi=hard
# -mfpu=fpv4-sp-d16 -ffp-contract=off -O2) and for the host (gcc -O2);
# embedded/runner.c feeds the last 342 calls of the sample traces from a C
# array and prints every score as float bits; the board build runs under
# qemu (semihosting), split over two qemu processes. Every score must have
# the same bits and every label must match:
#   fast profile   $EMB_TRACES traces (default 50)
#   small profile  $EMB_SMALL_TRACES traces (default 50; the first ones)
#   four small odd-sized models (make_models ... odd: every activation,
#                  strided / dedup / max_windows / mean-pool / calibrated
#                  rules, odd sizes), small profile, $EMB_TRACES traces
# The generated objects must not reference malloc/free or any libm function.
#
# Skipped (exit 0, "SKIPPED: ...") only when the cross toolchain, newlib or
# qemu are not installed (scripts/install-deps.sh installs them). Bounded:
# the whole test stops after 420 s, each qemu after 240 s.
set -euo pipefail

if [[ -z "${MALSTM_EMB_BOUNDED:-}" ]]; then
  MALSTM_EMB_BOUNDED=1 exec timeout -k 10 420 bash "$0" "$@"
fi

B=${1:?usage: tests/cli_embedded_qemu.sh BUILD_DIR}
B=$(cd "$B" && pwd)
SRC=$(pwd)
NTRACES=${EMB_TRACES:-50}
DATA=$SRC/data/mal-api-2019-sample

skip() { echo "SKIPPED: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }

need="(scripts/install-deps.sh installs gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
command -v arm-none-eabi-gcc >/dev/null || skip "arm-none-eabi-gcc not installed $need"
command -v qemu-system-arm >/dev/null || skip "qemu-system-arm not installed $need"
[[ -f "$(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
        -print-file-name=librdimon.a)" ]] || skip "newlib (librdimon) for arm-none-eabi not installed $need"
command -v cmake >/dev/null || fail "cmake not found"
command -v python3 >/dev/null || fail "python3 not found (embedded/make_traces.py)"
[[ -x "$B/compiler/malcc" ]] || fail "$B/compiler/malcc not built"

W=$(mktemp -d "${TMPDIR:-/tmp}/malstm-emb.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'echo "FAIL: interrupted (time limit?)" >&2; exit 124' TERM INT
t0=$(date +%s)

# ---- 1. models ----
san=""
if grep -qE '^MALSTM_(SANITIZE|FUZZ):BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
  san="-fsanitize=address,undefined"
fi
cc -std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L $san \
   -I"$SRC/runtime" -I"$SRC/compiler" "$SRC/embedded/make_models.c" \
   "$B/compiler/libmalstm_compiler.a" "$B/runtime/libmalstm_runtime.a" \
   -lcjson -lz -lyajl -ltcc -ldl -lpthread -lm -o "$W/make_models" \
   || fail "cannot build embedded/make_models.c against $B"
if [[ -n "${MALSTM_EMB_MODELS:-}" ]]; then
  models=("$MALSTM_EMB_MODELS"/*.json)
  echo "models: ${#models[@]} from $MALSTM_EMB_MODELS"
else
  mkdir "$W/models"
  "$W/make_models" "$DATA/api_index.txt" "$W/models" 7
  models=("$W/models"/*.json)
  echo "models: ${#models[@]} synthetic (paper shapes, tanh/softsign, seed 7)"
fi
# and four small odd-sized ones: every activation, every scoring rule, the
# int8 kernels' odd-k tails (malcc_odd_models: E 5, H1 7, H2 6)
mkdir "$W/odd-models"
"$W/make_models" "$DATA/api_index.txt" "$W/odd-models" 7 odd

# ---- 2. generated sources: both profiles ----
NSMALL=${EMB_SMALL_TRACES:-50}
((NSMALL <= NTRACES)) || NSMALL=$NTRACES
"$B/compiler/malcc" "${models[@]}" -o "$W/gen-fast" --target cortex-m --profile fast >/dev/null \
    || fail "malcc --target cortex-m --profile fast failed"
"$B/compiler/malcc" "${models[@]}" -o "$W/gen-small" --target cortex-m --profile small >/dev/null \
    || fail "malcc --target cortex-m --profile small failed"
"$B/compiler/malcc" "$W"/odd-models/*.json -o "$W/gen-odd" --target cortex-m >/dev/null \
    || fail "malcc --target cortex-m (odd-sized models) failed"

# ---- 3. traces as a C array ----
python3 "$SRC/embedded/make_traces.py" "$DATA/calls.txt.gz" "$DATA/api_index.txt" \
        "$NTRACES" 342 "$W/traces.c"

# ---- 4. board and host builds of the same sources ----
# build PROFILE: $W/arm-PROFILE (board) and $W/host-PROFILE; the fast
# profile's tables exceed the board's 4 MB code memory: .rodata goes to
# "external flash" (MALSTM_RODATA=ext)
build() {
  local p=$1 rodata=flash
  [[ $p == fast ]] && rodata=ext
  cmake -S "$SRC/embedded" -B "$W/arm-$p" -DCMAKE_TOOLCHAIN_FILE="$SRC/embedded/arm-none-eabi.cmake" \
        -DMALSTM_GEN_DIR="$W/gen-$p" -DMALSTM_TRACES="$W/traces.c" -DMALSTM_RODATA=$rodata \
        -DMALSTM_PROFILE_TRACES=0 >"$W/arm-$p.cmake.log" || { cat "$W/arm-$p.cmake.log"; fail "cmake (arm, $p)"; }
  cmake --build "$W/arm-$p" -j2 --target hello runner >"$W/arm-$p.build.log" 2>&1 \
        || { tail -30 "$W/arm-$p.build.log"; fail "arm-none-eabi build ($p)"; }
  cmake -S "$SRC/embedded" -B "$W/host-$p" -DMALSTM_GEN_DIR="$W/gen-$p" -DMALSTM_TRACES="$W/traces.c" \
        -DMALSTM_PROFILE_TRACES=0 >"$W/host-$p.cmake.log" || { cat "$W/host-$p.cmake.log"; fail "cmake (host, $p)"; }
  cmake --build "$W/host-$p" -j2 --target hello runner >"$W/host-$p.build.log" 2>&1 \
        || { tail -30 "$W/host-$p.build.log"; fail "host build ($p)"; }
  # no OS, no malloc, no libm: besides the models' own entry points the
  # generated objects may only need what gcc itself emits calls to on a
  # freestanding target (mem*) and libgcc's run-time helpers (__aeabi_*)
  local undef other
  undef=$(find "$W/arm-$p/CMakeFiles/malstm_gen.dir" \( -name '*.obj' -o -name '*.o' \) | sort \
          | xargs arm-none-eabi-nm -u | awk 'NF == 2 {print $2}' | grep -v '^malstm_' | sort -u || true)
  other=$(grep -vxE 'mem(set|cpy|move|cmp)|__aeabi_[a-z0-9_]+' <<<"$undef" | grep . || true)
  [[ -z "$other" ]] || fail "$p: the generated objects need more than libgcc: $(paste -sd' ' - <<<"$other")"
  echo "$p: the generated objects reference no malloc/libm/OS symbol (undefined besides their own: $(paste -sd' ' - <<<"$undef"))"
}
build fast
build small
build odd
arm-none-eabi-size "$W/arm-fast/runner.elf" "$W/arm-small/runner.elf"
t1=$(date +%s)
echo "built in $((t1 - t0)) s"

# ---- 5. the harness alone: output, FPU, exit status ----
timeout -k 5 30 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$W/arm-fast/hello.elf" >"$W/hello.arm" \
    || fail "hello.elf under qemu exited with $?"
"$W/host-fast/hello" >"$W/hello.host"
[[ "$(grep '^pi~' "$W/hello.arm")" == "$(grep '^pi~' "$W/hello.host")" ]] \
    || fail "harness float check differs: board '$(grep '^pi~' "$W/hello.arm")' host '$(grep '^pi~' "$W/hello.host")'"
echo "harness: $(head -1 "$W/hello.arm"); $(grep '^pi~' "$W/hello.arm") (same bits on the host)"

# ---- 6. run PROFILE on N traces: host, then the board in two qemu
#         processes; compare every score's bits and every label ----
run() {
  local p=$1 n=$2 ts half part rc=0 pids=()
  ts=$(date +%s)
  EMB_ARGS="0 $n" "$W/host-$p/runner" >"$W/host-$p.out" || fail "host runner ($p) exited with $?"
  half=$(( (n + 1) / 2 ))
  for part in 0 1; do
    timeout -k 5 240 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$W/arm-$p/runner.elf" \
        -append "$((part * half)) $half" >"$W/arm-$p$part.out" 2>"$W/arm-$p$part.err" &
    pids+=($!)
  done
  for part in 0 1; do
    wait "${pids[$part]}" || { rc=$?; echo "qemu ($p) part $part exited with $rc" >&2; cat "$W/arm-$p$part.err" >&2; }
  done
  ((rc == 0)) || fail "qemu run ($p) failed (124 = timed out)"
  for part in 0 1; do
    grep -q '^M done' "$W/arm-$p$part.out" || fail "qemu ($p) part $part did not finish: $(tail -3 "$W/arm-$p$part.out")"
  done
  grep '^T ' "$W/host-$p.out" >"$W/host-$p.T"
  cat "$W/arm-${p}0.out" "$W/arm-${p}1.out" | grep '^T ' >"$W/arm-$p.T"
  local nh na
  nh=$(wc -l <"$W/host-$p.T")
  ((nh == n)) || fail "$p: host runner scored $nh traces, expected $n"
  na=$(wc -l <"$W/arm-$p.T")
  ((na == n)) || fail "$p: board runner scored $na traces, expected $n"
  if ! diff "$W/host-$p.T" "$W/arm-$p.T" >"$W/diff-$p.txt"; then
    head -20 "$W/diff-$p.txt" >&2
    fail "$p: board and host scores differ on $(grep -c '^<' "$W/diff-$p.txt") of $n traces"
  fi
  local labels calls
  labels=$(awk '{print $5}' "$W/arm-$p.T" | sort | uniq -c | awk '{printf "%s%s=%s", (NR>1?" ":""), $2, $1}')
  calls=$(awk '$1=="M" && $2=="calls" {s += $3} END {print s}' "$W/arm-${p}0.out" "$W/arm-${p}1.out")
  local nm
  nm=$(awk 'NR == 1 {print NF - 5}' "$W/arm-$p.T")
  echo "$p: $n traces ($calls calls), $((n * nm)) scores bit-identical board vs host, $n/$n labels match ($labels); $(( $(date +%s) - ts )) s"
}
run fast "$NTRACES"
if ((NSMALL > 0)); then
  run small "$NSMALL"
  # the two profiles differ only by the small profile's extra quantisation
  paste "$W/host-fast.T" "$W/host-small.T" | head -n "$NSMALL" | awk '
    { n++; if ($5 == $(5 + NF / 2)) same++ }
    END { printf "small vs fast profile (host): %d/%d labels agree\n", same, n }'
fi
run odd "$NTRACES"
echo "PASS ($(( $(date +%s) - t0 )) s)"
