#!/usr/bin/env bash
# The seed's cleanup script: move stray *.db files from the current directory into
# ARAGORA_DATA_DIR (default .nomic). Same as `aragora-storage cleanup`.
set -euo pipefail
exec aragora-storage cleanup "$@"
