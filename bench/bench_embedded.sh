#!/usr/bin/env bash
# bench_embedded.sh [BUILD_DIR] - size and speed of the generated classifiers
# on a Cortex-M4F (QEMU mps2-an386), next to the host build.
#
#   bash bench/bench_embedded.sh build
#
# Profiles (malcc --target cortex-m --profile P):
#   fast   Embedding + W_x1 + b1 folded into a float table per token
#          (342 x 400 floats per model); the host target's bits
#   small  that table unfolded to an int8 embedding + int8 input matrix with
#          per-row scales (the default for cortex-m)
# For each, the sources are built with arm-none-eabi-gcc (-mcpu=cortex-m4
# -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffp-contract=off -O2) and with
# host gcc -O2, and embedded/runner.c runs $EMB_BENCH_TRACES (default 4)
# sample traces (last 342 calls) on both.
#
# Figures:
#   flash   .text + .rodata + .data of the model's object (arm-none-eabi-size -A);
#           the ensemble adds ensemble.c and vocab.c (the one name table)
#   RAM     .data + .bss of the object (0: the generated code has no mutable
#           globals) + the caller-owned state (sizeof) + stack used (measured
#           by painting the stack and finding the deepest overwritten word)
#   insn/step  instructions per <model>_window_step (one call, one LSTM step
#           of both layers), counted by qemu -icount shift=0 (1 ns of virtual
#           time per instruction) read through SysTick, calibrated against a
#           loop of known length; instructions, not cycles (qemu models no
#           pipeline or flash wait states)
#   host target   `malcc --target host` (what a PC runs; the same bits as the
#           fast profile) built with host gcc -O2: its objects' text + rodata
#           + data and ns per <model>_window_step, wall clock (noisy: shared
#           machine). (The cortex-m sources also build on the host, for the
#           bit check: there the int8 products run a portable loop, several
#           times slower than the host target's vectorised one.)
# Models: synthetic (paper shapes, seed 7) unless $MALSTM_EMB_MODELS holds *.json.
set -euo pipefail

B=${1:-build}
B=$(cd "$B" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$SRC/data/mal-api-2019-sample
N=${EMB_BENCH_TRACES:-4}
for t in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm cmake python3 size; do
  command -v $t >/dev/null || { echo "bench_embedded: $t not installed (scripts/install-deps.sh)"; exit 1; }
done
[[ -x "$B/compiler/malcc" ]] || { echo "bench_embedded: $B/compiler/malcc not built"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/malstm-emb-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT

if [[ -n "${MALSTM_EMB_MODELS:-}" ]]; then
  models=("$MALSTM_EMB_MODELS"/*.json); what="trained, $MALSTM_EMB_MODELS"
else
  cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$SRC/runtime" -I"$SRC/compiler" \
     "$SRC/embedded/make_models.c" "$B/compiler/libmalstm_compiler.a" "$B/runtime/libmalstm_runtime.a" \
     -lcjson -lz -lyajl -ltcc -ldl -lpthread -lm -o "$W/make_models"
  mkdir "$W/models" && "$W/make_models" "$DATA/api_index.txt" "$W/models" 7
  models=("$W/models"/*.json); what="synthetic, paper shapes E16/H100/H100, seed 7"
fi
"$B/compiler/malcc" "${models[@]}" -o "$W/gen-fast" --target cortex-m --profile fast >/dev/null
"$B/compiler/malcc" "${models[@]}" -o "$W/gen-small" --target cortex-m --profile small >/dev/null
"$B/compiler/malcc" "${models[@]}" -o "$W/gen-host" --target host >/dev/null
python3 "$SRC/embedded/make_traces.py" "$DATA/calls.txt.gz" "$DATA/api_index.txt" "$N" 342 "$W/traces.c"

# build + run one profile: $1 = name, $2 = gen dir, $3 = rodata region, $4 = opt flags
run_profile() {
  local name=$1 gen=$2 rodata=$3 opt=$4
  cmake -S "$SRC/embedded" -B "$W/arm-$name" -DCMAKE_TOOLCHAIN_FILE="$SRC/embedded/arm-none-eabi.cmake" \
        -DMALSTM_GEN_DIR="$gen" -DMALSTM_TRACES="$W/traces.c" -DMALSTM_RODATA="$rodata" \
        -DMALSTM_PROFILE_TRACES="$N" -DMALSTM_OPT="$opt" >/dev/null
  cmake --build "$W/arm-$name" -j2 >"$W/arm-$name.log" 2>&1 || { tail -20 "$W/arm-$name.log"; exit 1; }
  cmake -S "$SRC/embedded" -B "$W/host-$name" -DMALSTM_GEN_DIR="$gen" -DMALSTM_TRACES="$W/traces.c" \
        -DMALSTM_PROFILE_TRACES="$N" -DMALSTM_OPT="$opt" >/dev/null
  cmake --build "$W/host-$name" -j2 >"$W/host-$name.log" 2>&1 || { tail -20 "$W/host-$name.log"; exit 1; }
  timeout -k 5 900 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -icount shift=0 \
      -semihosting-config enable=on,target=native -kernel "$W/arm-$name/runner.elf" >"$W/arm-$name.out"
  "$W/host-$name/runner" >"$W/host-$name.out"
  if diff <(grep '^T ' "$W/arm-$name.out") <(grep '^T ' "$W/host-$name.out") >/dev/null; then
    echo "yes" >"$W/$name.same"
  else
    echo "NO" >"$W/$name.same"
  fi
}

# sizes of every object of the generated code: model section flash ram
obj_sizes() {   # $1 = size tool, $2 = build dir
  local f
  find "$2/CMakeFiles/malstm_gen.dir" \( -name '*.c.o' -o -name '*.c.obj' \) | sort | while read -r f; do
    "$1" -A "$f" | awk -v m="$(basename "$f" | sed 's/\.c\.o.*//')" '
      $1 ~ /^\.text/ {t += $2} $1 ~ /^\.rodata/ {r += $2} $1 ~ /^\.data/ {d += $2} $1 ~ /^\.bss/ {b += $2}
      END {print m, t, r, d, b}'
  done
}

report() {   # $1 = profile name, $2 = label
  local name=$1 label=$2
  obj_sizes arm-none-eabi-size "$W/arm-$name" >"$W/$name.arm.sz"
  obj_sizes size "$W/host-target" >"$W/$name.host.sz"
  echo
  echo "== profile $label   (board and host build of the same sources: bits identical on $N traces: $(cat "$W/$name.same"); right of | : the host target, gcc -O2)"
  awk -v P="$W" -v name="$name" '
    function kb(x) { return sprintf("%.1f", x / 1024) }
    FILENAME ~ /arm.sz$/  { at[$1] = $2; ar[$1] = $3; ad[$1] = $4; ab[$1] = $5; order[++n] = $1; next }
    FILENAME ~ /host.sz$/ { ht[$1] = $2 + $3 + $4; next }
    FILENAME ~ /arm-.*out$/ && $1 == "M" {
      key = $3; sub(/^[a-z0-9]+_/, "", key)
      if ($3 == "ensemble") key = "ensemble"
      A[$2, key] = $4; next }
    FILENAME ~ /host-.*out$/ && $1 == "M" {
      key = $3; sub(/^[a-z0-9]+_/, "", key)
      if ($3 == "ensemble") key = "ensemble"
      H[$2, key] = $4; next }
    END {
      printf "%-11s %10s %9s %8s %8s %8s %11s %11s | %11s %10s\n", "model", "flash", "(KiB)", "state", "stack", "RAM", "insn/step", "insn/call", "host: text+ro", "ns/step"
      for (i = 1; i <= n; i++) {
        m = order[i]
        fl = at[m] + ar[m] + ad[m]; tf += fl; th += ht[m]
        if (m == "ensemble" || m == "vocab") {
          printf "%-11s %10d %9s %8s %8s %8s %11s %11s | %11d %10s\n", m ".c", fl, kb(fl), "", "", "", "", "", ht[m], ""
          continue
        }
        st = A["state", m]; sk = A["stack", m]; ram = ad[m] + ab[m] + st + sk
        printf "%-11s %10d %9s %8d %8d %8d %11.0f %11.0f | %11d %10.0f\n", m, fl, kb(fl), st, sk, ram, A["per_step", m], A["per_call", m], ht[m], H["per_step", m]
        ps += A["per_step", m]; hs += H["per_step", m]
        sw = A["stack_step", m] > sw ? A["stack_step", m] : sw; win = A["window", m] > win ? A["window", m] : win
      }
      es = A["state", "ensemble"]; ek = A["stack", "ensemble"]
      printf "%-11s %10d %9s %8d %8d %8d %11.0f %11.0f | %11d %10.0f\n", "ENSEMBLE", tf, kb(tf), es, ek, es + ek, ps, A["per_call", "ensemble"], th, hs
      printf "  flash: all generated objects (incl. the shared name table): %d B = %.3f MB = %.3f MiB; budget 1.2 MB = 1200000 B -> %s\n", tf, tf / 1e6, tf / 1048576, (tf <= 1200000 ? "fits" : "does NOT fit")
      printf "  RAM, streaming all 8 (ensemble state %d + painted stack %d): %d B; budget 16 KiB = 16384 B -> %s (16 kB = 16000 B -> %s)\n", es, ek, es + ek, (es + ek <= 16384 ? "fits" : "does NOT fit"), (es + ek <= 16000 ? "fits" : "does NOT fit")
      printf "  RAM, paper window run model by model (caller keeps the last 342 ids as uint16 = 684 B, one %d B window reused, stack %d B): %d B -> %s\n", win, sw, 684 + win + sw, (684 + win + sw <= 16384 ? "fits" : "does NOT fit")
      printf "  insn/call: %s_init + steps + score over the trace, per call (stride 0: score runs the window)\n", "<model>"
    }' "$W/$name.arm.sz" "$W/$name.host.sz" "$W/arm-$name.out" "$W/host-target.out"
  arm-none-eabi-size "$W/arm-$name/runner.elf" | awk -v r="$3" -v n="$N" \
    'NR == 2 {printf "  whole board image (runner + newlib + %d-trace array): text %d data %d bss %d; .rodata in %s\n", n, $1, $2, $3, r}'
}

echo "bench_embedded: Cortex-M4F on QEMU mps2-an386 ($(qemu-system-arm --version | head -1 | awk '{print $4}')), $(arm-none-eabi-gcc --version | head -1 | awk '{print $NF}') arm-none-eabi-gcc vs host $(gcc -dumpfullversion) gcc; models: $what; $N traces"
# the host target, for the host columns
cmake -S "$SRC/embedded" -B "$W/host-target" -DMALSTM_GEN_DIR="$W/gen-host" -DMALSTM_TRACES="$W/traces.c" \
      -DMALSTM_PROFILE_TRACES="$N" >/dev/null
cmake --build "$W/host-target" -j2 >"$W/host-target.log" 2>&1 || { tail -20 "$W/host-target.log"; exit 1; }
"$W/host-target/runner" >"$W/host-target.out"
run_profile fast "$W/gen-fast" ext "-O2"
run_profile small "$W/gen-small" flash "-O2"
report fast "fast (folded float token table), -O2" "external flash (EXT at 0x21000000: the eight tables exceed the 4 MB code memory)"
report small "small (int8 embedding + int8 input matrix), -O2" "on-chip flash"
if [[ "${EMB_BENCH_UNROLL:-1}" == 1 ]]; then
  run_profile small-unroll "$W/gen-small" flash "-O2 -funroll-loops"
  report small-unroll "small, -O2 -funroll-loops (same bits, fewer instructions)" "on-chip flash"
fi
