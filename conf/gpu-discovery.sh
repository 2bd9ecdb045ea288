#!/usr/bin/env bash
# Spark GPU discovery script: prints {"name": "gpu", "addresses": ["0", "1", ...]}, one address per GPU that
# nvidia-smi lists (its indices, which are the CUDA device numbers ND4J binds to). Spark runs it once per
# executor (or worker) and hands each task the addresses it scheduled. No GPU: an empty list, exit 0.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-discovery.sh: nvidia-smi not found on PATH" >&2
  echo '{"name": "gpu", "addresses": []}'
  exit 0
fi
indices=$(nvidia-smi --query-gpu=index --format=csv,noheader)
addresses=""
for index in $indices; do
  addresses="${addresses:+$addresses, }\"${index//[^0-9]/}\""
done
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
