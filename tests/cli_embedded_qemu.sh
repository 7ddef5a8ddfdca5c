#!/usr/bin/env bash
# cli_embedded_qemu.sh BUILD_DIR - the eight generated classifiers on a
# Cortex-M4F (QEMU mps2-an386) agree bit for bit with the host gcc build.
#
# Run by ctest from the source root. Steps: eight models (synthetic, fixed
# seeds, or $MALSTM_EMB_MODELS/*.json) -> malcc -> the same generated sources
# built twice with embedded/CMakeLists.txt: for the board (toolchain file
# embedded/arm-none-eabi.cmake, -mcpu=cortex-m4 -mthumb -mfloat-abi=hard
# -mfpu=fpv4-sp-d16 -ffp-contract=off -O2) and for the host (gcc -O2);
# embedded/runner.c feeds the last 342 calls of $EMB_TRACES (default 50)
# sample traces from a C array and prints every score as float bits; the
# board build runs under qemu (semihosting), split over two qemu processes.
# Every score must have the same bits and every label must match.
#
# Skipped (exit 0, "SKIPPED: ...") only when the cross toolchain, newlib or
# qemu are not installed (scripts/install-deps.sh installs them). Bounded:
# the whole test stops after 300 s, each qemu after 240 s.
set -euo pipefail

if [[ -z "${MALSTM_EMB_BOUNDED:-}" ]]; then
  MALSTM_EMB_BOUNDED=1 exec timeout -k 10 300 bash "$0" "$@"
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
if [[ -n "${MALSTM_EMB_MODELS:-}" ]]; then
  models=("$MALSTM_EMB_MODELS"/*.json)
  echo "models: ${#models[@]} from $MALSTM_EMB_MODELS"
else
  san=""
  if grep -qE '^MALSTM_(SANITIZE|FUZZ):BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
    san="-fsanitize=address,undefined"
  fi
  cc -std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L $san \
     -I"$SRC/runtime" -I"$SRC/compiler" "$SRC/embedded/make_models.c" \
     "$B/compiler/libmalstm_compiler.a" "$B/runtime/libmalstm_runtime.a" \
     -lcjson -lz -lyajl -ltcc -ldl -lpthread -lm -o "$W/make_models" \
     || fail "cannot build embedded/make_models.c against $B"
  mkdir "$W/models"
  "$W/make_models" "$DATA/api_index.txt" "$W/models" 7
  models=("$W/models"/*.json)
  echo "models: ${#models[@]} synthetic (paper shapes, tanh/softsign, seed 7)"
fi

# ---- 2. generated sources ----
"$B/compiler/malcc" "${models[@]}" -o "$W/gen" >/dev/null || fail "malcc failed"

# ---- 3. traces as a C array ----
python3 "$SRC/embedded/make_traces.py" "$DATA/calls.txt.gz" "$DATA/api_index.txt" \
        "$NTRACES" 342 "$W/traces.c"

# ---- 4. board and host builds of the same sources ----
cmake -S "$SRC/embedded" -B "$W/arm" -DCMAKE_TOOLCHAIN_FILE="$SRC/embedded/arm-none-eabi.cmake" \
      -DMALSTM_GEN_DIR="$W/gen" -DMALSTM_TRACES="$W/traces.c" -DMALSTM_RODATA=ext \
      -DMALSTM_PROFILE_TRACES=0 >"$W/arm.cmake.log" || { cat "$W/arm.cmake.log"; fail "cmake (arm)"; }
cmake --build "$W/arm" -j2 --target hello runner >"$W/arm.build.log" 2>&1 \
      || { tail -30 "$W/arm.build.log"; fail "arm-none-eabi build of the generated sources"; }
cmake -S "$SRC/embedded" -B "$W/host" -DMALSTM_GEN_DIR="$W/gen" -DMALSTM_TRACES="$W/traces.c" \
      -DMALSTM_PROFILE_TRACES=0 >"$W/host.cmake.log" || { cat "$W/host.cmake.log"; fail "cmake (host)"; }
cmake --build "$W/host" -j2 --target hello runner >"$W/host.build.log" 2>&1 \
      || { tail -30 "$W/host.build.log"; fail "host build of the generated sources"; }
arm-none-eabi-size "$W/arm/runner.elf"
t1=$(date +%s)
echo "built in $((t1 - t0)) s"

# ---- 5. the harness alone: output, FPU, exit status; then host, and the
#         board in two qemu processes ----
timeout -k 5 30 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$W/arm/hello.elf" >"$W/hello.arm" \
    || fail "hello.elf under qemu exited with $?"
"$W/host/hello" >"$W/hello.host"
[[ "$(grep '^pi~' "$W/hello.arm")" == "$(grep '^pi~' "$W/hello.host")" ]] \
    || fail "harness float check differs: board '$(grep '^pi~' "$W/hello.arm")' host '$(grep '^pi~' "$W/hello.host")'"
echo "harness: $(head -1 "$W/hello.arm"); $(grep '^pi~' "$W/hello.arm") (same bits on the host)"
"$W/host/runner" >"$W/host.out" || fail "host runner exited with $?"
half=$(( (NTRACES + 1) / 2 ))
pids=()
for part in 0 1; do
  timeout -k 5 240 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
      -semihosting-config enable=on,target=native -kernel "$W/arm/runner.elf" \
      -append "$((part * half)) $half" >"$W/arm$part.out" 2>"$W/arm$part.err" &
  pids+=($!)
done
rc=0
for part in 0 1; do
  wait "${pids[$part]}" || { rc=$?; echo "qemu part $part exited with $rc" >&2; cat "$W/arm$part.err" >&2; }
done
((rc == 0)) || fail "qemu run failed (124 = timed out)"
for part in 0 1; do
  grep -q '^M done' "$W/arm$part.out" || fail "qemu part $part did not finish: $(tail -3 "$W/arm$part.out")"
done
t2=$(date +%s)
echo "qemu ran in $((t2 - t1)) s"

# ---- 6. compare ----
grep '^T ' "$W/host.out" >"$W/host.T"
cat "$W/arm0.out" "$W/arm1.out" | grep '^T ' >"$W/arm.T"
n=$(wc -l <"$W/host.T")
((n == NTRACES)) || fail "host runner scored $n traces, expected $NTRACES"
na=$(wc -l <"$W/arm.T")
((na == NTRACES)) || fail "board runner scored $na traces, expected $NTRACES"
if ! diff "$W/host.T" "$W/arm.T" >"$W/diff.txt"; then
  head -20 "$W/diff.txt" >&2
  fail "board and host scores differ on $(grep -c '^<' "$W/diff.txt") of $n traces"
fi
labels=$(awk '{print $5}' "$W/arm.T" | paste -sd' ' | tr ' ' '\n' | sort | uniq -c | awk '{printf "%s%s=%s", (NR>1?" ":""), $2, $1}')
calls=$(awk '$1=="M" && $2=="calls" {s += $3} END {print s}' "$W/arm0.out" "$W/arm1.out")
echo "embedded: $n traces ($calls calls), $((n * 8)) scores bit-identical board vs host, $n/$n labels match ($labels)"

# ---- 7. the small profile (embedded/small_profile.py) on $EMB_SMALL_TRACES traces ----
NSMALL=${EMB_SMALL_TRACES:-8}
((NSMALL <= NTRACES)) || NSMALL=$NTRACES
if ((NSMALL > 0)); then
  if ! python3 "$SRC/embedded/small_profile.py" "$W/gen" "$W/gen-small" "${models[@]}" >"$W/small.log" 2>&1; then
    # the rewrite depends on the shape of malcc's output, which may move on
    echo "small profile: not checked ($(tail -1 "$W/small.log"))"
  else
    for t in arm host; do
      tc=(); [[ $t == arm ]] && tc=(-DCMAKE_TOOLCHAIN_FILE="$SRC/embedded/arm-none-eabi.cmake")
      cmake -S "$SRC/embedded" -B "$W/$t-small" "${tc[@]}" -DMALSTM_GEN_DIR="$W/gen-small" \
            -DMALSTM_TRACES="$W/traces.c" -DMALSTM_PROFILE_TRACES=0 >/dev/null \
        && cmake --build "$W/$t-small" -j2 --target runner >"$W/$t-small.log" 2>&1 \
        || { tail -20 "$W/$t-small.log"; fail "$t build of the small profile"; }
    done
    timeout -k 5 120 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$W/arm-small/runner.elf" \
        -append "0 $NSMALL" >"$W/arm-small.out" || fail "qemu (small profile) exited with $?"
    EMB_ARGS="0 $NSMALL" "$W/host-small/runner" >"$W/host-small.out"
    grep '^T ' "$W/arm-small.out" >"$W/arm-small.T"
    grep '^T ' "$W/host-small.out" >"$W/host-small.T"
    ns=$(wc -l <"$W/host-small.T")
    ((ns == NSMALL)) || fail "small profile: host scored $ns traces, expected $NSMALL"
    diff "$W/host-small.T" "$W/arm-small.T" >/dev/null \
      || fail "small profile: board and host scores differ"
    echo "small profile: flash $(arm-none-eabi-size "$W/arm-small/runner.elf" | awk 'NR==2{print $1}') B image; $ns traces, $((ns * 8)) scores bit-identical board vs host"
  fi
fi
echo "PASS ($(( $(date +%s) - t0 )) s)"
