"""The token blacklist, stream events and cache stores on Redis.

Each store method is one command (or one pipeline) on the backend's pool. Reads and
idempotent writes retry after a dropped connection; ``XADD`` never does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from redis.crc import key_slot

from aragora_storage_core.models import StreamEvent, to_iso, utcnow_iso
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_redis.faults import DRIVER_ERRORS, Retrier, translate, translated

if TYPE_CHECKING:
    from aragora_storage_redis.backend import RedisBackend

PIPELINE_BATCH = 1000
_STREAM_ID = re.compile(r"^\d+(-\d+)?$")


class RedisStore:
    """Shared plumbing: the backend's client, keyspace and retry policy.

    The async path builds the same store on a client-like object of ``redis.asyncio``
    (``bridged.BridgedClient``) and a retrier that sleeps through the bridge.
    """

    def __init__(self, backend: RedisBackend, client: Any = None,
                 retrier: Retrier | None = None) -> None:
        retrier = retrier or backend.retrier
        self._backend = backend
        # bytes replies: decode_responses is off
        self._client: Any = backend.client if client is None else client
        self._keys = backend.keys
        self._idempotent = retrier.idempotent
        self._unsent = retrier.unsent
        self._slot = _cluster_slot if backend.topology.mode == "cluster" else _one_slot

    @property
    def _where(self) -> RedisBackend:
        return self._backend


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

    @translated("token_blacklist.revoke")
    def revoke(self, jti: str, expires_at: datetime, user_id: str | None = None) -> None:
        """Blacklist ``jti`` until ``expires_at`` (``PXAT``); revoking twice keeps the first."""
        key, value, at = self._keys.token(jti), encode_token(user_id), _epoch_ms(expires_at)
        self._idempotent(lambda: self._client.set(key, value, pxat=at, nx=True))

    @translated("token_blacklist.is_revoked")
    def is_revoked(self, jti: str) -> bool:
        """True while the key exists: Redis removes it when the token expires."""
        key = self._keys.token(jti)
        return bool(self._idempotent(lambda: self._client.exists(key)))

    @translated("token_blacklist.revoke_many")
    def revoke_many(self, tokens: Iterable[tuple[str, datetime]]) -> int:
        """Blacklist many ``(jti, expires_at)`` pairs, pipelined; return how many were given."""
        rows = [(self._keys.token(jti), _epoch_ms(expires)) for jti, expires in tokens]
        value = encode_token(None)
        for start in range(0, len(rows), PIPELINE_BATCH):
            batch = rows[start:start + PIPELINE_BATCH]

            def send(batch: list[tuple[str, int]] = batch) -> None:
                pipe = self._client.pipeline(transaction=False)
                for key, at in batch:
                    pipe.set(key, value, pxat=at, nx=True)
                pipe.execute()

            self._idempotent(send)
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

    def __init__(self, backend: RedisBackend, client: Any = None,
                 retrier: Retrier | None = None) -> None:
        super().__init__(backend, client, retrier)
        self._maxlen = backend.options.stream_maxlen

    @translated("stream_events.append", idempotent=False)
    def append(self, event: StreamEvent) -> str:
        """``XADD`` one event (retried only when a cluster says it did not run it: a retry
        after a lost reply could append it twice)."""
        key, fields = self._keys.stream(event.loop_id), _event_fields(event)
        entry_id: bytes = self._unsent(
            lambda: self._client.xadd(key, fields, maxlen=self._maxlen, approximate=True))
        event.id = entry_id.decode()
        return event.id

    @translated("stream_events.append_many", idempotent=False)
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
            batch = [(self._keys.stream(events[i].loop_id), _event_fields(events[i]))
                     for i in indexes]

            def send(batch: list[tuple[str, dict[str, Any]]] = batch) -> list[bytes]:
                pipe = self._client.pipeline(transaction=True)
                for key, fields in batch:
                    pipe.xadd(key, fields, maxlen=self._maxlen, approximate=True)
                replies: list[bytes] = pipe.execute()
                return replies

            try:
                replies = self._unsent(send)
            except DRIVER_ERRORS as error:
                if not done:
                    raise
                raise translate(error, self._where, f"stream_events.append_many after {done} "
                                f"of {len(events)} events were appended (one transaction "
                                "per hash slot)", idempotent=False) from error
            for index, entry_id in zip(indexes, replies, strict=True):
                ids[index] = events[index].id = entry_id.decode()
            done += len(indexes)
        return ids

    @translated("stream_events.read")
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
            entries: list[tuple[bytes, dict[bytes, bytes]]] = self._idempotent(
                partial(self._client.xrange, key, start, "+", count=page))
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

    @translated("cache.get")
    def get(self, key: str) -> bytes | None:
        """Return the cached value or ``None``."""
        name = self._keys.cache(key)
        value: bytes | None = self._idempotent(lambda: self._client.get(name))
        return value

    @translated("cache.set")
    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        """Store ``value``, expiring after ``ttl_seconds`` (milliseconds precision) if given."""
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive (or None for no expiry)")
        name = self._keys.cache(key)
        px = None if ttl_seconds is None else max(1, round(ttl_seconds * 1000))
        self._idempotent(lambda: self._client.set(name, value, px=px))

    @translated("cache.delete")
    def delete(self, key: str) -> bool:
        """Remove a key; ``False`` if it was absent."""
        name = self._keys.cache(key)
        return bool(self._idempotent(lambda: self._client.unlink(name)))


STORE_CLASSES: dict[StoreKind, type[RedisStore]] = {
    StoreKind.TOKEN_BLACKLIST: RedisTokenBlacklistStore,
    StoreKind.STREAM_EVENTS: RedisStreamEventStore,
    StoreKind.CACHE: RedisCacheStore,
}
