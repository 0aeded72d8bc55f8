"""The account stores on Supabase beyond the conformance kit: read-modify-writes stay
atomic under concurrent callers (database functions through RPC), webhook secrets are
sealed before they leave, lists read past max-rows, the anon key reaches nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.models import AuditEntry, Organization, ShareLink, User, Webhook
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind
from tests.postgres.conftest import admin_connection
from tests.supabase.postgrest_server import ANON_KEY
from tests.supabase.supabase_support import TestProject

pytestmark = pytest.mark.postgres
THREADS, EACH = 4, 8


def _in_threads(work: Callable[[], Any]) -> list[Any]:
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(EACH):
            value = work()
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_failed_logins_count_every_attempt_once(supabase_backend: Any) -> None:
    users = supabase_backend.store(StoreKind.USERS)
    users.create(User("u-race", "race@example.com", "h", "s"))
    counts = _in_threads(lambda: users.record_failed_login("u-race"))
    assert sorted(counts) == list(range(1, THREADS * EACH + 1))
    assert users.get_by_id("u-race").failed_login_count == THREADS * EACH


def test_concurrent_opens_never_exceed_the_view_limit(supabase_backend: Any) -> None:
    links = supabase_backend.store(StoreKind.SHARE_LINKS)
    links.create(ShareLink("tok-race", "debate", max_views=5))
    opened = [link for link in _in_threads(lambda: links.open("tok-race")) if link]
    assert sorted(link.view_count for link in opened) == [1, 2, 3, 4, 5]
    assert links.get("tok-race").view_count == 5


def test_concurrent_delivery_failures_are_each_counted(supabase_backend: Any) -> None:
    hooks = supabase_backend.store(StoreKind.WEBHOOKS)
    hooks.create(Webhook("wh-race", "org", "https://example.com"))
    counts = _in_threads(lambda: hooks.record_delivery("wh-race", False))
    assert sorted(counts) == list(range(1, THREADS * EACH + 1))


def test_webhook_secrets_are_sealed_in_the_project(
        supabase_env: dict[str, str], supabase_backend: Any, project_database: str) -> None:
    registry = Registry(env=supabase_env | {"ARAGORA_ENCRYPTION_KEY": Fernet.generate_key()
                                            .decode()})
    hooks = registry.active().store(StoreKind.WEBHOOKS)
    hooks.create(Webhook("wh-sealed", "org", "https://example.com", secret="plain-secret"))
    hooks.update("wh-sealed", url="https://example.org")
    conn = admin_connection(project_database)
    with conn.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks WHERE id = 'wh-sealed'")
        (stored,) = cursor.fetchone()
    conn.close()
    assert "plain-secret" not in stored
    assert hooks.get("wh-sealed").secret == "plain-secret"
    assert hooks.update("wh-sealed", secret="next").secret == "next"
    registry.close()


def test_account_lists_read_past_max_rows(supabase_backend: Any) -> None:
    many = 1100
    users = supabase_backend.store(StoreKind.USERS)
    assert users.create_many([User(f"u{n:05d}", f"u{n}@example.com", "h", "s", org_id="big",
                                   created_at=f"2024-01-01T00:00:00.{n:06d}+00:00")
                              for n in range(many)]) == many
    assert [u.id for u in users.list_by_org("big")] == [f"u{n:05d}" for n in range(many)]
    audit = supabase_backend.store(StoreKind.AUDIT)
    audit.log_many([AuditEntry("a", f"2024-01-01T00:00:00.{n:06d}+00:00") for n in range(many)])
    assert len(audit.query(limit=1500)) == many
    orgs = supabase_backend.store(StoreKind.ORGANIZATIONS)
    for n in range(3):
        orgs.create(Organization(f"o{n}", "O", f"o{n}"))
    assert [o.id for o in orgs.list_all(limit=1500, offset=1)] == ["o1", "o2"]


def test_the_anon_key_can_call_no_database_function(
        supabase_backend: Any, postgrest: TestProject) -> None:
    users = supabase_backend.store(StoreKind.USERS)
    users.create(User("u-anon", "anon@example.com", "h", "s"))
    response = httpx.post(f"{postgrest.url}/rest/v1/rpc/aragora_record_failed_login",
                          json={"p_user_id": "u-anon"},
                          headers={"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"})
    assert response.status_code == 401 and response.json()["code"] == "42501"
    assert users.get_by_id("u-anon").failed_login_count == 0
