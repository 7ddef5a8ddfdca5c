#!/usr/bin/env bash
# Installs the Debian 12 packages malstm needs. Idempotent: packages already
# present are skipped, and apt is not touched at all when nothing is missing.
#
#   scripts/install-deps.sh            build + test + main-job packages
#   scripts/install-deps.sh --peers    also the PyTorch/scikit-learn peers (bench only)
set -euo pipefail

# Build and run: compiler, CMake, the five libraries, and what the JIT needs at run time.
BUILD_PKGS=(gcc make cmake pkg-config libc6-dev
            libdnnl-dev ocl-icd-opencl-dev opencl-c-headers   # oneDNN (its CMake config needs OpenCL)
            libcjson-dev                                       # model files
            libtcc-dev tcc                                     # JIT: libtcc.a + libtcc1.a/include at run time
            zlib1g-dev                                         # gzip traces
            libyajl-dev                                        # streaming JSON (sandbox reports)
            liblinear-dev)                                     # the trainer's n-gram teacher (--distill)
# Tests: unit tests, fuzzers (clang + libFuzzer runtime), report plots.
TEST_PKGS=(libcmocka-dev clang libclang-rt-14-dev gnuplot-nox python3)
# Embedded: the Cortex-M4 cross build and QEMU board (tests/cli_embedded_qemu.sh, bench/bench_embedded.sh).
EMBEDDED_PKGS=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
PEER_PKGS=(python3-torch python3-sklearn libopenblas0-pthread)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${EMBEDDED_PKGS[@]}")
[[ "${1:-}" == "--peers" ]] && want+=("${PEER_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
