#!/usr/bin/env bash
# Extra set-up for the benchmarks only (not needed by `npm run train` or `npm test`):
# PyTorch on CPU from Debian, the side-by-side baseline of bench/engine. Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "setup-bench: run as root (or: sudo apt-get install -y python3-torch)" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-torch >&2
fi
echo "setup-bench: ready ($(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'))"
