#!/usr/bin/env bash
# Builds and runs the CUDA TurboMerge harness on the official merge cases.
#   native/cuda/run_harness.sh          nvcc build, runs on the GPU (needs only nvcc and a driver)
#   native/cuda/run_harness.sh --cpu    g++ build of the same files, kernel bodies run on the host
# Exit status: 0 when every case passes, 1 on a failed case, 2 on a build or CUDA error.
# Takes well under a minute (one nvcc compile of two small files, then < 1 s of work).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
native="$(dirname "$here")"
out="${TMPDIR:-/tmp}/turbo-harness-$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

if [[ "${1:-}" == "--cpu" ]]; then
  "${CXX:-g++}" -std=c++17 -O2 -ffp-contract=off -Wall -x c++ -I"$native" \
    "$here/harness.cu" "$here/turbo_merge.cu" -o "$out/harness" || exit 2
else
  nvcc="${NVCC:-nvcc}"
  command -v "$nvcc" >/dev/null || { echo "no nvcc on PATH (set NVCC)"; exit 2; }
  "$nvcc" --version | tail -n 1
  # --fmad=false: no FMA contraction anywhere (merge_core.h's device multiplies are __dmul_rn anyway).
  # -arch=native (CUDA >= 11.6) targets the GPU present; older nvcc falls back to its default.
  flags=(-std=c++17 -O2 --fmad=false -I"$native" "$here/harness.cu" "$here/turbo_merge.cu" -o "$out/harness")
  if ! "$nvcc" -arch=native "${flags[@]}" 2>"$out/nvcc.log"; then
    echo "(-arch=native failed: $(head -n 1 "$out/nvcc.log")); building for nvcc's default arch"
    "$nvcc" "${flags[@]}" || exit 2
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader || true
fi
"$out/harness" "$here/merge_cases.txt"
