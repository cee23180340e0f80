#!/usr/bin/env bash
# One-GPU smoke test of the OpenRLHF backend: 2 colocated PretrainZero steps with a tiny random model
# (or --model DIR), then a 1-step resume, checked end to end (pretrainzero/openrlhf/smoke.py says what).
#   scripts/gpu_smoke.sh [OUT=runs/gpu-smoke] [--model DIR]
# Exit: 0 passed, 1 a check failed (listed), 2 a package or the GPU is missing (named), 124 over 8 minutes.
# Needs: pip install 'pretrainzero[openrlhf]' (vllm, deepspeed, flash-attn, ray, openrlhf 0.11.2), one CUDA GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/gpu-smoke
if [[ $# -gt 0 && "$1" != --* ]]; then OUT="$1"; shift; fi
exec timeout 480 "${PYTHON:-python}" -m pretrainzero.openrlhf.smoke "$OUT" "$@"
