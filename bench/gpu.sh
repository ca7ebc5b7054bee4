#!/usr/bin/env bash
# GPU reference for RESULTS.md ("What the native backend would change"), run on a lent NVIDIA machine
# through the workplace's device tool, never in CI. tfjs-node-gpu's libtensorflow cannot be fetched on
# that machine either, so this times the same nets in PyTorch with CUDA (the machine's own python3):
# the engine benchmark's three models, and the accuracy reference's GTSRB recipe.
#   bash bench/gpu.sh [DATA_DIR] [OUT_DIR]   (DATA_DIR: a copy of shared/data; OUT_DIR: where JSON goes)
set -uo pipefail
data=${1:-../shared/data}
out=${2:-/tmp/gpu-bench}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
lscpu | grep -E '^Model name|^CPU\(s\)'
python3 -c 'import torch, onnxruntime as o; print("torch", torch.__version__, "| onnxruntime", o.__version__, o.get_available_providers())'
for b in 32 256; do
  python3 "$here/pytorch_alexnet.py" --device cuda --sizes full,reduced,compact --batch $b --repeats 20 --json | tee "$out/speed-b$b.json"
done
for cfg in "16 21" "32 25"; do
  set -- $cfg
  TS_SHARED_DATA="$data" python3 "$here/pytorch_gtsrb.py" --device cuda --crop-roi --channels $1 --epochs $2 2>/dev/null | tee "$out/gtsrb-c$1.json"
done
