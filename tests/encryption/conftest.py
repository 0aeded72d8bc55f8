"""Fixtures for encryption tests: real SQLCipher files in a temporary data directory."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aragora_storage_core.registry import Registry

#: A passphrase with both quote kinds, a backslash and a semicolon: must never reach SQL.
PASSPHRASE = "it's a \"quoted\"; key\\ with -- dashes 0123456789"
OTHER_PASSPHRASE = "another passphrase, also 'quoted' and long enough"


@pytest.fixture
def passphrase() -> str:
    """The SQLCipher passphrase the encrypted fixtures use."""
    return PASSPHRASE


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def encrypted_env(data_dir: Path) -> dict[str, str]:
    """Environment selecting encrypted SQLite under ``data_dir``."""
    return {
        "ARAGORA_DATA_DIR": str(data_dir),
        "ARAGORA_SQLITE_ENCRYPTION": "1",
        "ARAGORA_SQLITE_KEY": PASSPHRASE,
    }


@pytest.fixture
def encrypted_registry(encrypted_env: dict[str, str]) -> Iterator[Registry]:
    """A registry over encrypted SQLite; closed afterwards."""
    registry = Registry(env=encrypted_env)
    yield registry
    registry.close()


@pytest.fixture
def file_bytes() -> Callable[[Path], bytes]:
    """Read every byte of every file under a directory (databases, -wal, -shm)."""
    def read(directory: Path) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())
    return read


class TerminalStream(io.StringIO):
    """A text stream that says it is a terminal, to see what a user's terminal shows."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal() -> TerminalStream:
    """A stream that passes for a terminal (progress lines are drawn on it)."""
    return TerminalStream()
