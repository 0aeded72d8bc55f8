#!/usr/bin/env bash
# Outside tools the benchmarks compare against, from Debian's packages (apt only):
#   pgloader (3.6.9-1 on bookworm) for benchmarks/bench_copy.py.
# Run as root (or with sudo). Does nothing for a tool already installed.
set -euo pipefail
missing=()
command -v pgloader >/dev/null 2>&1 || missing+=(pgloader)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
