"""Throwaway Redis Cluster (3 primaries, 3 replicas) and Sentinel setups for the tests.

Every process is a ``redis-server`` on free ports of 127.0.0.1 that keeps nothing on
disk; the cluster is made with ``redis-cli --cluster create``, sentinels from config
files written here. The shared server on 6379 is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
import redis
from redis_servers import RedisServerProcess

NODE_TIMEOUT_MS = 1000
SERVICE = "aragora-primary"
#: Passwords of the test cluster's nodes, of the Sentinel setup's data nodes and sentinels.
CLUSTER_PASSWORD, PASSWORD, SENTINEL_PASSWORD = "cluster-s3cret", "data-s3cret", "sentinel-s3cret"


class Startable(Protocol):
    """A throwaway setup: started once, stopped at the end."""

    def start(self) -> Startable: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


def running(setup: S) -> Iterator[S]:
    """Start ``setup``, hand it out, and stop it afterwards (for ``yield from``)."""
    try:
        setup.start()
        yield setup
    finally:
        setup.stop()


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds:g} s")


def node_client(port: int, password: str | None = None,
                ca: Path | None = None) -> redis.Redis:
    """A plain client of one node (no cluster routing); TLS when given the ``ca``."""
    tls = {"ssl": True, "ssl_ca_certs": str(ca)} if ca else {}
    return redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5,
                       socket_connect_timeout=2, **tls)  # type: ignore[arg-type]


class ThrowawayCluster:
    """Six cluster-enabled servers joined into 3 primaries with one replica each.

    With ``certs`` (from ``tls_certs.make_certificates``) every node speaks only TLS, to
    clients, to its replicas and on the cluster bus.
    """

    def __init__(self, workdir: Path, password: str | None = None,
                 certs: dict[str, Path] | None = None) -> None:
        auth = ("--requirepass", password, "--masterauth", password) if password else ()
        tls = ("--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
               "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", "no",
               "--tls-cluster", "yes", "--tls-replication", "yes") if certs else ()
        self.password = password
        self.ca = certs["ca"] if certs else None
        self.nodes = [
            RedisServerProcess(workdir / f"node{index}", "--cluster-enabled", "yes",
                               "--cluster-config-file", "nodes.conf",
                               "--cluster-node-timeout", str(NODE_TIMEOUT_MS), *auth, *tls,
                               bus=True, tls=bool(certs))
            for index in range(6)]

    def start(self) -> ThrowawayCluster:
        """Start the nodes, create the cluster and wait until every slot is served."""
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli is not installed (apt-get install redis-tools)")
        auth = ["-a", self.password, "--no-auth-warning"] if self.password else []
        tls = ["--tls", "--cacert", str(self.ca)] if self.ca else []
        command = [cli, *auth, *tls, "--cluster", "create",
                   *(f"127.0.0.1:{node.port}" for node in self.nodes),
                   "--cluster-replicas", "1", "--cluster-yes"]
        for _ in range(3):
            created = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                     check=False)
            if created.returncode == 0 or created.stdout.strip():
                break
            # Refused before it printed anything (a node not yet answering, seen once under
            # load with TLS): nothing was configured, so asking again is safe.
            time.sleep(0.5)
        if created.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed:\n{created.stdout[-2000:]}"
                        f"\n{created.stderr[-2000:]}")
        wait_until(self.healthy, "cluster_state:ok with every replica in sync")
        return self

    def client(self, port: int) -> redis.Redis:
        """A plain client of the node on ``port``."""
        return node_client(port, self.password, self.ca)

    def url(self, query: str = "", password: str | None = None) -> str:
        """``redis+cluster://`` (``rediss+cluster://`` with TLS, naming the CA) with two
        seed nodes and the password (or ``password``)."""
        secret = self.password if password is None else password
        auth = f":{secret}@" if secret else ""
        first, second = self.live_ports()[:2]
        options = [*([f"ssl_ca_certs={self.ca}"] if self.ca else []), *filter(None, [query])]
        return (f"{'rediss' if self.ca else 'redis'}+cluster://{auth}127.0.0.1:{first},"
                f"127.0.0.1:{second}" + ("?" + "&".join(options) if options else ""))

    def live_ports(self) -> list[int]:
        """Ports of the nodes that run."""
        return [node.port for node in self.nodes if node.process is not None]

    def roles(self) -> dict[int, str]:
        """``port -> master|slave`` of every running node."""
        return {port: self.client(port).info("replication")["role"]
                for port in self.live_ports()}

    def healthy(self) -> bool:
        """Every running node says cluster_state:ok, and every replica's link is up."""
        for port in self.live_ports():
            node = self.client(port)
            if node.cluster("info")["cluster_state"] != "ok":
                return False
            replication = node.info("replication")
            if replication["role"] == "slave" and replication["master_link_status"] != "up":
                return False
        return True

    def primary_ports(self) -> list[int]:
        """Ports of the running primaries."""
        return [port for port, role in self.roles().items() if role == "master"]

    def replica_of(self, primary: int) -> int:
        """The port of a replica of the primary on ``primary``."""
        for port, role in self.roles().items():
            info = self.client(port).info("replication")
            if role == "slave" and info["master_port"] == primary:
                return port
        pytest.fail(f"no replica follows the primary on port {primary}")

    def failover(self, primary: int) -> int:
        """``CLUSTER FAILOVER`` on a replica of ``primary``; return the new primary's port."""
        replica = self.replica_of(primary)
        self.client(replica).execute_command("CLUSTER FAILOVER")
        wait_until(lambda: self.client(replica).info("replication")["role"] == "master"
                   and self.client(primary).info("replication")["role"] == "slave"
                   and self.healthy(), f"the failover of the primary on {primary}")
        return replica

    def primary_of_key(self, key: str) -> int:
        """The port of the primary that serves ``key``'s slot now."""
        slot = self.client(self.live_ports()[0]).cluster("keyslot", key)
        for start, end, primary, *_ in self.client(self.live_ports()[0]).cluster("slots"):
            if start <= slot <= end:
                return int(primary[1])
        pytest.fail(f"no primary serves slot {slot}")

    def keys_per_primary(self, pattern: str) -> dict[int, int]:
        """How many keys matching ``pattern`` each primary holds (SCAN on each)."""
        return {port: sum(1 for _ in self.client(port).scan_iter(match=pattern, count=1000))
                for port in self.primary_ports()}

    def node(self, port: int) -> RedisServerProcess:
        """The process listening on ``port``."""
        return next(node for node in self.nodes if node.port == port)

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


class ThrowawaySentinels:
    """A primary, one replica and three sentinels watching them as :data:`SERVICE`.

    The data nodes require ``password``; the sentinels require ``sentinel_password``.
    """

    def __init__(self, workdir: Path, password: str, sentinel_password: str,
                 certs: dict[str, Path] | None = None) -> None:
        self.workdir = workdir
        self.password = password
        self.sentinel_password = sentinel_password
        self.ca = certs["ca"] if certs else None
        self.tls = ("--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
                    "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", "no",
                    "--tls-replication", "yes") if certs else ()
        auth = ("--requirepass", password, "--masterauth", password, *self.tls)
        self.primary = RedisServerProcess(workdir / "primary", *auth, tls=bool(certs))
        self.replica = RedisServerProcess(workdir / "replica", *auth, tls=bool(certs))
        self.sentinels: list[RedisServerProcess] = []

    def _config(self, index: int) -> Path:
        path = self.workdir / f"sentinel{index}" / "sentinel.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2",
            f"sentinel down-after-milliseconds {SERVICE} 1000",
            f"sentinel failover-timeout {SERVICE} 10000",
            f"sentinel auth-pass {SERVICE} {self.password}",
            f"requirepass {self.sentinel_password}",
            f"sentinel sentinel-pass {self.sentinel_password}",
            ""]))
        return path

    def start(self) -> ThrowawaySentinels:
        """Start the data nodes and the sentinels; wait until each sentinel sees them all."""
        self.primary.start()
        self.replica.args = (*self.replica.args, "--replicaof", "127.0.0.1",
                             str(self.primary.port))
        self.replica.start()
        for index in range(3):
            sentinel = RedisServerProcess(self.workdir / f"sentinel{index}", "--sentinel",
                                          *self.tls, config=self._config(index),
                                          tls=bool(self.ca))
            self.sentinels.append(sentinel.start())
        wait_until(self.settled, "three sentinels seeing the primary, its replica and "
                   "each other")
        return self

    def sentinel(self, index: int) -> redis.Redis:
        """A client of one sentinel."""
        return node_client(self.sentinels[index].port, self.sentinel_password, self.ca)

    def primary_port(self) -> int:
        """The port the sentinels name as the primary (all of them must agree)."""
        answers = {int(self.sentinel(i).sentinel_get_master_addr_by_name(SERVICE)[1])
                   for i in range(3)}
        if len(answers) != 1:
            raise redis.ConnectionError(f"sentinels disagree: {answers}")
        return answers.pop()

    def settled(self) -> bool:
        """Every sentinel knows 2 others and 1 replica, and the replica's link is up."""
        for index in range(3):
            state = self.sentinel(index).sentinel_master(SERVICE)
            if state["num-other-sentinels"] != 2 or state["num-slaves"] != 1:
                return False
        return self.replica_linked()

    def replica_linked(self) -> bool:
        """The node that is not the primary replicates from it."""
        port = self.primary_port()
        other = self.replica.port if port == self.primary.port else self.primary.port
        replication = node_client(other, self.password, self.ca).info("replication")
        return bool(replication.get("master_port") == port
                    and replication.get("master_link_status") == "up")

    def failover(self) -> int:
        """``SENTINEL FAILOVER``; wait until the replica took over; return its port."""
        before = self.primary_port()
        self.sentinel(0).sentinel_failover(SERVICE)
        wait_until(lambda: self.primary_port() != before and node_client(
            self.primary_port(), self.password, self.ca).info("replication")["role"] == "master",
                   "the sentinel failover")
        return self.primary_port()

    def url(self, query: str = "", sentinel_password: bool = True) -> str:
        """``redis+sentinel://`` listing the three sentinels."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        options = [*([f"sentinel_password={self.sentinel_password}"]
                     if sentinel_password else []),
                   *([f"ssl_ca_certs={self.ca}"] if self.ca else []), *filter(None, [query])]
        return (f"{'rediss' if self.ca else 'redis'}+sentinel://:{self.password}@{hosts}"
                f"/{SERVICE}/0"
                + ("?" + "&".join(options) if options else ""))

    def stop(self) -> None:
        """Stop the sentinels, then the data nodes."""
        for process in [*self.sentinels, self.replica, self.primary]:
            process.stop()
