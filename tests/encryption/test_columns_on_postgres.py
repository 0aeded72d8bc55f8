"""Column encryption and rotation on PostgreSQL: the same cipher reaches every SQL backend."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.encryption.fernet import key_id
from aragora_storage_core.encryption.rotation import rotate_columns
from aragora_storage_core.errors import ColumnKeyError
from aragora_storage_core.layout import DatabaseType
from aragora_storage_core.models import Webhook
from aragora_storage_core.registry import Registry
from tests.postgres.conftest import AUTO, HOST, PORT, USER, admin_connection, drop_database

pytestmark = pytest.mark.postgres

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own, dropped afterwards."""
    admin = admin_connection()
    name = f"aragora_test_enc_{secrets.token_hex(5)}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://{USER}@{HOST}:{PORT}/{name}"
    drop_database(admin, name)
    admin.close()


def backend_with(url: str, keys: str) -> Any:
    return Registry(env={"ARAGORA_ENCRYPTION_KEY": keys, **AUTO}).connect(url)


def stored_secrets(backend: Any) -> list[str]:
    database = backend.database_for(DatabaseType.USERS)
    return [row[0] for row in database.fetch_all("SELECT secret FROM webhooks ORDER BY id")]


def test_webhook_secrets_are_sealed_and_rotated_on_postgresql(pg_url: str) -> None:
    old = backend_with(pg_url, OLD_KEY)
    for n in range(12):
        old.store("webhooks").create(Webhook(f"w{n:02d}", "org", "https://x.test", f"s{n}"))
    assert all(s.startswith(f"fernet:{key_id(OLD_KEY)}:") for s in stored_secrets(old))
    old.close()

    only_new = backend_with(pg_url, NEW_KEY)
    with pytest.raises(ColumnKeyError, match=key_id(OLD_KEY)):
        only_new.store("webhooks").get("w00")
    only_new.close()

    both = backend_with(pg_url, f"{NEW_KEY},{OLD_KEY}")
    report = rotate_columns(both, batch_size=5)
    both.close()
    assert report.complete and report.resealed == {"webhooks.secret": 12}

    after = backend_with(pg_url, NEW_KEY)
    assert after.store("webhooks").get("w11").secret == "s11"
    assert all(s.startswith(f"fernet:{key_id(NEW_KEY)}:") for s in stored_secrets(after))
    after.close()
