#!/usr/bin/env bash
# MariaDB for the example plugin's tests (examples/aragora-storage-mariadb): the server
# on 127.0.0.1:3306 (root, no password) comes with the machine; start it when it is down.
set -euo pipefail
if ! mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
    service mariadb start >/dev/null
fi
for _ in $(seq 1 30); do
    mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && exit 0
    sleep 1
done
echo "MariaDB did not start on 127.0.0.1:3306" >&2
exit 1
