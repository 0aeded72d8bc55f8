"""Conformance tests that catch what a backend's database does differently by default:
case-folding text, values over 1 MB, lost updates, two migrators, restore into an empty
database, timestamps with offsets. Each test skips by the stores the backend declares;
those about store behaviour run on the sync and the async API (:mod:`.api`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.backup.create import create_backup
from aragora_storage_core.backup.restore import restore_backup
from aragora_storage_core.errors import StorageError
from aragora_storage_core.migrations.types import MigrationAction, MigrationRequest
from aragora_storage_core.models import StreamEvent, User
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.testing.api import BothApis, StoreApi
from aragora_storage_core.testing.stores import served

MEGABYTES = 1_500_000


def _threads(count: int, work: Callable[[], Any]) -> list[BaseException]:
    """Run ``work`` on ``count`` threads released together; the exceptions they raised."""
    start, errors = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # collected and asserted empty by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


class TestStrictConformance(BothApis):
    """What a database's defaults (collation, packet size, isolation, DDL) can break."""

    def test_text_compares_exactly_not_case_folded(
            self, conformance_api: StoreApi, conformance_backend: Backend) -> None:
        users = served(conformance_backend, StoreKind.USERS, conformance_api)
        upper = users.create(User("case-1", "Ada@x.example", "h", "s"))
        lower = users.create(User("case-2", "ada@x.example", "h", "s"))
        assert users.get_by_email("Ada@x.example") == upper
        assert users.get_by_email("ada@x.example") == lower
        assert users.get_by_email("ADA@X.EXAMPLE") is None
        assert users.count() == 2

    def test_values_over_one_megabyte_round_trip(
            self, conformance_api: StoreApi, conformance_backend: Backend) -> None:
        events = served(conformance_backend, StoreKind.STREAM_EVENTS, conformance_api)
        payload = {"blob": "é" + "x" * MEGABYTES + "ü"}
        events.append(StreamEvent("big-loop", 1, "big", payload))
        (found,) = events.read("big-loop")
        assert found.event_data == payload

    def test_concurrent_writers_lose_no_update(
            self, conformance_api: StoreApi, conformance_backend: Backend) -> None:
        users = served(conformance_backend, StoreKind.USERS, conformance_api)
        users.create(User("busy", "busy@x.example", "h", "s"))
        errors = _threads(8, lambda: [users.record_failed_login("busy") for _ in range(10)])
        assert errors == []
        assert users.get_by_id("busy").failed_login_count == 80

    def test_two_migrators_at_once_apply_each_version_once(
            self, conformance_backend: Backend) -> None:
        registries = [Registry(conformance_backend.settings) for _ in range(2)]
        backends = [r.connect(conformance_backend.url) for r in registries]
        reports: list[Any] = []
        request = MigrationRequest(MigrationAction.MIGRATE)
        pairs = iter(zip(registries, backends, strict=True))
        lock = threading.Lock()

        def migrate() -> None:
            with lock:
                registry, backend = next(pairs)
            reports.append(registry.hook.storage_migrate(backend=backend, request=request))

        try:
            errors = _threads(2, migrate)
        finally:
            for registry in registries:
                registry.close()
        assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
        if reports[0] is None:  # a backend without migrations
            return
        ran = [(s.db, name) for report in reports for s in report.databases for name in s.ran]
        assert len(ran) == len(set(ran))
        status = Registry(conformance_backend.settings).hook.storage_migrate(
            backend=conformance_backend, request=MigrationRequest(MigrationAction.STATUS))
        assert status.pending_count == 0

    def test_timestamps_with_offsets_compare_as_instants(
            self, conformance_api: StoreApi, conformance_backend: Backend) -> None:
        blacklist = served(conformance_backend, StoreKind.TOKEN_BLACKLIST, conformance_api)
        east = timezone(timedelta(hours=9))
        west = timezone(timedelta(hours=-7))
        soon_east = datetime.now(east) + timedelta(minutes=5)  # later text, later instant
        past_west = datetime.now(west) - timedelta(minutes=5)  # earlier instant
        blacklist.revoke("tz-live", soon_east)
        blacklist.revoke("tz-gone", past_west)
        assert blacklist.is_revoked("tz-live") is True
        assert blacklist.is_revoked("tz-gone") is False
        assert datetime.now(UTC) > past_west

    def test_backup_restores_into_an_empty_database_with_identical_rows(
            self, conformance_backend: Backend, conformance_empty_backend: Backend,
            tmp_path: Path) -> None:
        users = served(conformance_backend, StoreKind.USERS)
        users.create(User("r1", "r1@x.example", "h", "s", name="Ünï", preferences={"n": 1}))
        users.create(User("r2", "R1@x.example", "h", "s"))
        registry = Registry(conformance_backend.settings)
        directory, _ = create_backup(registry.hook, conformance_backend, tmp_path / "b")
        try:
            restore_backup(registry.hook, conformance_empty_backend, directory)
        except StorageError as error:  # named in the failure, with its hint
            raise AssertionError(str(error)) from None
        restored = conformance_empty_backend.store(StoreKind.USERS)
        for user_id in ("r1", "r2"):
            assert restored.get_by_id(user_id) == users.get_by_id(user_id)
        assert restored.count() == users.count()
