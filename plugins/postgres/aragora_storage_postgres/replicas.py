"""Read replicas: which server a plain read goes to, and how far behind each replica is.

A checker thread samples the primary's WAL flush position every :data:`CHECK_SECONDS`
and asks each replica whether it is still a standby and how far it has replayed. A
replica that has replayed past a sample taken at time *t* holds everything committed
before *t*: that *t* is the replica's ``fresh_as_of``. No clocks are compared between
servers, so the lag is exact to the check interval (an upper bound).

A plain read goes to a replica only when its ``fresh_as_of`` is newer than both

- the last write of the calling thread or asyncio task (read-your-writes), and
- ``now - ARAGORA_DB_MAX_REPLICA_LAG`` (bounded staleness for everyone else),

and never inside ``registry.primary()`` or within ``ARAGORA_DB_READ_YOUR_WRITES_WINDOW``
seconds of any write through the same backend. Otherwise it goes to the primary. A
replica that stops answering is left out at once (the read is retried on the primary)
and comes back when a check finds it answering and caught up; a promoted replica (no
longer in recovery) is left out for good until it is a standby again.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar
from enum import StrEnum
from itertools import count
from time import monotonic
from typing import Any

from aragora_storage_core.consistency import primary_only
from aragora_storage_core.errors import StorageError
from aragora_storage_core.records import dataclass
from aragora_storage_core.url import StorageURL
from aragora_storage_postgres.connection import where
from aragora_storage_postgres.pool import ConnectionPool

#: Seconds between two checks of every replica.
CHECK_SECONDS = 0.5
#: Where the primary's WAL is flushed: every transaction that has committed is before it.
PRIMARY_POSITION_SQL = "SELECT pg_current_wal_flush_lsn()::text"
#: Whether a server is a standby, and how far it has replayed the primary's WAL.
REPLICA_POSITION_SQL = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"


class ReplicaState(StrEnum):
    """What the last check found."""

    UNCHECKED = "not checked yet"
    STANDBY = "standby"
    DOWN = "down"
    NOT_A_REPLICA = "not a replica"


def wal_position(text: str) -> int:
    """A ``pg_lsn`` text (``16/B374D848``) as a number that orders like the WAL."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class Replica:
    """One replica server: its pool and what the last check found."""

    __slots__ = ("fresh_as_of", "pool", "problem", "state", "url")

    def __init__(self, url: StorageURL, pool: ConnectionPool) -> None:
        self.url = url
        self.pool = pool
        #: Monotonic time of the newest primary position this replica is known to hold.
        self.fresh_as_of = -math.inf
        self.state = ReplicaState.UNCHECKED
        self.problem = ""

    @property
    def label(self) -> str:
        """``host:port/database`` (never the user or password)."""
        return where(self.url)

    def left_out(self, state: ReplicaState, problem: str) -> None:
        """Take this replica out of reads until a check finds it a caught-up standby."""
        self.state, self.problem, self.fresh_as_of = state, problem, -math.inf


class WriteClock:
    """When the context that holds it (a thread, an asyncio task) last wrote."""

    __slots__ = ("at", "owner")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.at = -math.inf


@dataclass(frozen=True)
class ReplicaReport:
    """One replica as ``doctor`` shows it: state and lag in seconds (``None``: unknown)."""

    label: str
    state: ReplicaState
    lag: float | None
    readable: bool
    problem: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"replica": self.label, "state": self.state.value, "lag_seconds": self.lag,
                "readable": self.readable, "problem": self.problem}


class ReplicaSet:
    """Every replica of one primary, the checker thread, and the choice of a replica."""

    def __init__(self, primary: ConnectionPool, replicas: Sequence[Replica], *,
                 max_lag: float, window: float, errors: type[Exception],
                 check_seconds: float = CHECK_SECONDS) -> None:
        self.primary = primary
        self.replicas = tuple(replicas)
        self.max_lag, self.window, self.check_seconds = max_lag, window, check_seconds
        #: Replicas that answered the last check as standbys; lag is judged per read.
        self.readable: tuple[Replica, ...] = ()
        #: Monotonic time of the last write through this backend (any thread).
        self.last_write = -math.inf
        self._caller_write: ContextVar[WriteClock | None] = ContextVar(
            f"aragora_postgres_last_write_{id(self)}", default=None)
        self._errors = errors
        self._samples: deque[tuple[float, int]] = deque(
            maxlen=int((max_lag + 2 * check_seconds) / check_seconds) + 2)
        self._turn = count()
        self._begin(closed=False)
        _SETS.add(self)

    def _begin(self, closed: bool) -> None:
        """Locks and no checker yet (at first, and in a forked child, whose copies of the
        parent's locks may be held by a thread that does not exist there)."""
        self._stop = threading.Event()
        if closed:
            self._stop.set()
        self._due = -math.inf
        self._check_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def choose(self) -> Replica | None:
        """The replica a plain read goes to now, or ``None`` for the primary."""
        if primary_only.get():
            return None
        now = monotonic()
        if now > self._due:
            self._start_checker(now)
        readable = self.readable
        if not readable or now - self.last_write < self.window:
            return None
        clock = self._caller_write.get()
        floor = -math.inf if clock is None else clock.at
        if now - self.max_lag > floor:
            floor = now - self.max_lag
        if len(readable) == 1:
            only = readable[0]
            return only if only.fresh_as_of >= floor else None
        turn = next(self._turn)
        for step in range(len(readable)):
            replica = readable[(turn + step) % len(readable)]
            if replica.fresh_as_of >= floor:
                return replica
        return None

    def wrote(self) -> None:
        """Record a write (committed, or with an unknown outcome) by the calling context."""
        now = monotonic()
        self.last_write = now
        clock = self._caller_write.get()
        if clock is None:
            clock = WriteClock(None)
            self._caller_write.set(clock)
        clock.at = now

    def own_clock(self, owner: object) -> None:
        """Give ``owner`` (an asyncio task) its own write clock in the current context.

        The async path calls this in the task before each store call: the call runs in a
        copy of the task's context, and :meth:`wrote` there sets the time on this shared
        clock, so the task's next reads see its write. A task that inherited another's
        clock (asyncio copies the context into a new task) gets a fresh one.
        """
        clock = self._caller_write.get()
        if clock is None or clock.owner is not owner:
            self._caller_write.set(WriteClock(owner))

    def lost(self, replica: Replica, problem: str) -> None:
        """A read found ``replica`` not answering: leave it out until a check finds it back."""
        replica.left_out(ReplicaState.DOWN, problem)
        self.readable = tuple(r for r in self.readable if r is not replica)

    def check(self) -> None:
        """Sample the primary's position, then ask every replica how far it has replayed."""
        with self._check_lock:
            if self._stop.is_set():
                return
            started = monotonic()
            position = self._primary_position()
            if position is not None:
                self._samples.append((started, position))
            for replica in self.replicas:
                self._probe(replica)
            self.readable = tuple(r for r in self.replicas if r.state is ReplicaState.STANDBY)
            self._due = monotonic() + 4 * self.check_seconds

    def reports(self) -> list[ReplicaReport]:
        """Every replica's state and lag as of the last check."""
        now = monotonic()
        reports = []
        for replica in self.replicas:
            lag = now - replica.fresh_as_of
            known = math.isfinite(lag)
            reports.append(ReplicaReport(
                replica.label, replica.state, round(lag, 3) if known else None,
                replica.state is ReplicaState.STANDBY and known and lag <= self.max_lag,
                replica.problem))
        return reports

    def close(self) -> None:
        """Stop the checker and close every replica's connections.

        Waits for a check in progress, so that it opens no connection after this.
        """
        self._stop.set()
        with self._check_lock:
            for replica in self.replicas:
                replica.pool.close()

    def _primary_position(self) -> int | None:
        try:
            lease = self.primary.acquire()
        except StorageError:
            return None
        try:
            cursor = lease.raw.cursor()
            cursor.execute(PRIMARY_POSITION_SQL)
            text: str = cursor.fetchall()[0][0]
        except self._errors:
            self.primary.discard(lease)
            return None
        self.primary.release(lease)
        return wal_position(text)

    def _probe(self, replica: Replica) -> None:
        try:
            lease = replica.pool.acquire()
        except StorageError as error:
            replica.left_out(ReplicaState.DOWN, error.message)
            return
        try:
            cursor = lease.raw.cursor()
            cursor.execute(REPLICA_POSITION_SQL)
            in_recovery, replayed = cursor.fetchall()[0]
        except self._errors:
            replica.pool.discard(lease)
            replica.left_out(ReplicaState.DOWN, f"{replica.label} stopped answering")
            return
        replica.pool.release(lease)
        if not in_recovery:
            replica.left_out(ReplicaState.NOT_A_REPLICA, f"{replica.label} is not in recovery")
            return
        replica.state, replica.problem = ReplicaState.STANDBY, ""
        if replayed is None:
            return
        position = wal_position(replayed)
        held = [taken for taken, sample in self._samples if sample <= position]
        if held:
            replica.fresh_as_of = max(replica.fresh_as_of, held[-1])

    def _start_checker(self, now: float) -> None:
        """Start the checker thread when it is not running (first use, after a fork)."""
        with self._start_lock:
            if self._stop.is_set():
                return
            self._due = now + self.check_seconds
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=_check_until_closed, args=(weakref.ref(self),),
                                            name="aragora-replica-check", daemon=True)
            self._thread.start()


#: Every replica set, so that a forked child can start its own checker with fresh locks.
_SETS: weakref.WeakSet[ReplicaSet] = weakref.WeakSet()


def _begin_after_fork() -> None:
    for replicas in list(_SETS):
        replicas._begin(closed=replicas._stop.is_set())


os.register_at_fork(after_in_child=_begin_after_fork)


def _check_until_closed(ref: weakref.ref[ReplicaSet]) -> None:
    """The checker thread: check, sleep, repeat until the set is closed or forgotten."""
    while True:
        replicas = ref()
        if replicas is None or replicas._stop.is_set():
            return
        replicas.check()
        stop, pause = replicas._stop, replicas.check_seconds
        del replicas
        if stop.wait(pause):
            return
