"""The conformance kit on SQLCipher with column encryption on: stores behave the same.

The full kit runs on plain SQLite (``tests/sqlite``); here the classes encryption could
affect run again on an encrypted file, to keep the suite lean (each test derives a key).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from aragora_storage_core.backend import Backend
from aragora_storage_core.encryption.fernet import FernetColumns
from aragora_storage_core.encryption.sqlcipher import is_encrypted_file
from aragora_storage_core.registry import Registry
from aragora_storage_core.testing.fixtures import conformance_registry
from aragora_storage_core.testing.health import TestHealthConformance, TestMigrationConformance
from aragora_storage_core.testing.stores import (
    TestUserStoreConformance,
    TestWebhookStoreConformance,
)

#: The stores whose behaviour encryption could change: unique violations from the
#: SQLCipher driver, sealed webhook secrets, migrations and health on encrypted files.
__all__ = [
    "TestHealthConformance",
    "TestMigrationConformance",
    "TestUserStoreConformance",
    "TestWebhookStoreConformance",
    "conformance_registry",
]

PASSPHRASE = "conformance 'passphrase' for SQLCipher"


@pytest.fixture
def conformance_backend(tmp_path: Path) -> Iterator[Backend]:
    """An empty single-file SQLite backend on SQLCipher, with Fernet column encryption.

    One file keeps it to one key derivation per test (the other layouts are covered by
    the plain conformance run and by ``test_sqlcipher_connections``).
    """
    env = {"ARAGORA_SQLITE_ENCRYPTION": "1", "ARAGORA_SQLITE_KEY": PASSPHRASE,
           "ARAGORA_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    backend = Registry(env=env).connect(f"sqlite:///{tmp_path}/all.db")
    assert isinstance(backend.cipher, FernetColumns)  # type: ignore[attr-defined]
    yield backend
    backend.close()
    assert is_encrypted_file(tmp_path / "all.db") is not False  # never a plain file
