#!/usr/bin/env bash
# PgBouncer (Debian's package) for tests/postgres/test_pgbouncer.py and the PgBouncer
# benchmark. Tests start their own pgbouncer on a free port with a generated ini; the
# package's own service is never started (Debian's postinst may start it: stop that one).
set -euo pipefail
if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
# The package's system service would listen on 6432 with its own config: tests never use it.
if [ -x /etc/init.d/pgbouncer ]; then
    /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
fi
