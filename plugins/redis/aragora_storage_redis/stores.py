"""The token blacklist, stream events and cache stores on Redis.

Each store method is one command (or one pipeline) sent through the store's
:class:`~aragora_storage_redis.commands.Commands`, which retries reads and idempotent
writes after a dropped connection, never ``XADD``, and turns failures into typed errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis.crc import key_slot

from aragora_storage_core.models import StreamEvent, to_iso, utcnow_iso
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_redis.commands import Command, Commands

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

PIPELINE_BATCH = 1000
_STREAM_ID = re.compile(r"^\d+(-\d+)?$")


class RedisStore:
    """Shared plumbing: the backend's keyspace and the store's way to the server.

    The async path builds the same store on commands that also run on ``redis.asyncio``
    (``async_commands.AsyncCommands``).
    """

    def __init__(self, backend: RedisBackend, commands: Commands | None = None) -> None:
        self._redis = backend.commands if commands is None else commands
        self._keys = backend.keys
        self._slot = _cluster_slot if backend.topology.mode == "cluster" else _one_slot


def _one_slot(key: str) -> int:
    """Every key of one server is in the same place."""
    return 0


def _cluster_slot(key: str) -> int:
    """The Redis Cluster hash slot of ``key`` (of its ``{hash tag}`` if it has one)."""
    return key_slot(key.encode())


def encode_token(user_id: str | None) -> bytes:
    """The value of a token key: who the token belonged to and when it was revoked."""
    return json.dumps({"user_id": user_id, "revoked_at": utcnow_iso()}).encode()


def _epoch_ms(moment: datetime) -> int:
    """``moment`` as a ``PXAT`` value: Redis refuses 0 and below, so earlier times become 1
    (as expired as they are: the key is gone at once, as on SQL)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(1, int(moment.timestamp() * 1000))


class RedisTokenBlacklistStore(RedisStore):
    """Revoked JWTs: one key per ``jti`` that Redis deletes when the token expires."""

    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist ``jti`` until ``expires_at`` (``PXAT``); revoking twice keeps the first."""
        self._redis.write("token_blacklist.revoke", "set", self._keys.token(jti),
                          encode_token(user_id), pxat=_epoch_ms(expires_at), nx=True)

    def is_revoked(self, jti: str) -> bool:
        """True while the key exists: Redis removes it when the token expires."""
        return bool(self._redis.read("token_blacklist.is_revoked", "exists",
                                     self._keys.token(jti)))

    def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs, pipelined; return how many were given."""
        rows = [(self._keys.token(jti), _epoch_ms(expires)) for jti, expires in tokens]
        value = encode_token(None)
        for start in range(0, len(rows), PIPELINE_BATCH):
            self._redis.pipeline("token_blacklist.revoke_many", [
                Command("set", key, value, pxat=at, nx=True)
                for key, at in rows[start:start + PIPELINE_BATCH]], transaction=False)
        return len(rows)

    def cleanup_expired(self, *, dry_run: bool = False) -> int:
        """Return 0: Redis deletes each token key itself when its expiry passes."""
        return 0



def _event_fields(event: StreamEvent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "cycle": event.cycle,
        "event_type": event.event_type,
        "event_data": json.dumps(event.event_data),
        "timestamp": to_iso(event.timestamp),
    }
    if event.agent is not None:
        fields["agent"] = event.agent
    return fields


def _event(loop_id: str, entry_id: bytes, fields: dict[bytes, bytes]) -> StreamEvent:
    agent = fields.get(b"agent")
    return StreamEvent(
        loop_id,
        int(fields[b"cycle"]),
        fields[b"event_type"].decode(),
        json.loads(fields[b"event_data"]),
        None if agent is None else agent.decode(),
        datetime.fromisoformat(fields[b"timestamp"].decode()),
        entry_id.decode(),
    )


class RedisStreamEventStore(RedisStore):
    """Events of nomic loops: one Redis stream per loop, trimmed to about ``stream_maxlen``.

    Ids are stream ids (``1700000000000-0``); they order events within a loop.
    """

    def __init__(self, backend: RedisBackend, commands: Commands | None = None) -> None:
        super().__init__(backend, commands)
        self._maxlen = backend.options.stream_maxlen

    def append(self, event: StreamEvent) -> str:
        """``XADD`` one event (retried only when a cluster says it did not run it: a retry
        after a lost reply could append it twice)."""
        entry_id: bytes = self._redis.write_once(
            "stream_events.append", "xadd", self._keys.stream(event.loop_id),
            _event_fields(event), maxlen=self._maxlen, approximate=True)
        event.id = entry_id.decode()
        return event.id

    def append_many(self, events: Sequence[StreamEvent]) -> list[str]:
        """Append events in order in one ``MULTI``/``EXEC`` pipeline: all or none.

        On a Redis Cluster a transaction holds the keys of one hash slot only, so the
        events go in one transaction per slot (all or none per loop) unless the prefix
        has a hash tag that puts every loop in one slot.
        """
        by_slot: dict[int, list[int]] = {}
        for index, event in enumerate(events):
            by_slot.setdefault(self._slot(self._keys.stream(event.loop_id)), []).append(index)
        ids: list[str] = [""] * len(events)
        done = 0
        for indexes in by_slot.values():
            operation = "stream_events.append_many" + (
                f" after {done} of {len(events)} events were appended (one transaction per "
                "hash slot)" if done else "")
            replies = self._redis.pipeline(operation, [
                Command("xadd", self._keys.stream(events[i].loop_id), _event_fields(events[i]),
                        maxlen=self._maxlen, approximate=True) for i in indexes],
                transaction=True, once=True)
            for index, entry_id in zip(indexes, replies, strict=True):
                ids[index] = events[index].id = entry_id.decode()
            done += len(indexes)
        return ids

    def read(self, loop_id: str, *, cycle: int | None = None, after: str | None = None,
             limit: int = 100) -> list[StreamEvent]:
        """Events of a loop in id order, optionally of one cycle and after the id ``after``."""
        if after is not None and not _STREAM_ID.match(after):
            raise ValueError(f"not a stream event id: {after[:40]!r}")
        if limit <= 0:
            return []
        key = self._keys.stream(loop_id)
        start = f"({after}" if after is not None else "-"
        page = limit if cycle is None else max(limit, 100)
        events: list[StreamEvent] = []
        while len(events) < limit:
            entries: list[tuple[bytes, dict[bytes, bytes]]] = self._redis.read(
                "stream_events.read", "xrange", key, start, "+", count=page)
            if cycle is None:
                events.extend([_event(loop_id, entry_id, fields) for entry_id, fields in entries])
            else:
                wanted = str(cycle).encode()
                events.extend([_event(loop_id, entry_id, fields) for entry_id, fields in entries
                               if fields[b"cycle"] == wanted])
            if len(entries) < page:
                break
            start = "(" + entries[-1][0].decode()
        return events[:limit]


class RedisCacheStore(RedisStore):
    """Bytes under keys, with an optional time to live."""

    def get(self, key: str) -> bytes | None:
        """Return the cached value or ``None``."""
        value: bytes | None = self._redis.read("cache.get", "get", self._keys.cache(key))
        return value

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        """Store ``value``, expiring after ``ttl_seconds`` (milliseconds precision) if given."""
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive (or None for no expiry)")
        px = None if ttl_seconds is None else max(1, round(ttl_seconds * 1000))
        self._redis.write("cache.set", "set", self._keys.cache(key), value, px=px)

    def delete(self, key: str) -> bool:
        """Remove a key; ``False`` if it was absent."""
        return bool(self._redis.write("cache.delete", "unlink", self._keys.cache(key)))


STORE_CLASSES: dict[StoreKind, type[RedisStore]] = {
    StoreKind.TOKEN_BLACKLIST: RedisTokenBlacklistStore,
    StoreKind.STREAM_EVENTS: RedisStreamEventStore,
    StoreKind.CACHE: RedisCacheStore,
}
