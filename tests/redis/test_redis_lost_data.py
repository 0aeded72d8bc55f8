"""The CLI ``doctor`` reports a Redis (beside the primary) that lost its data since
``migrate`` recorded it: the primary remembers the marker Redis no longer holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_servers import RedisServerProcess

from aragora_storage_core.cli import main


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A private redis-server without persistence (a restart empties it)."""
    process = RedisServerProcess(tmp_path / "redis").start()
    yield process
    process.stop()


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_doctor_reports_a_redis_that_lost_the_blacklist_since_migrate(
        server: RedisServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(data))
    monkeypatch.setenv("REDIS_URL", server.url(query="prefix=lost-test:"))
    assert main(["migrate", "--migrate"]) == 0
    assert main(["doctor"]) == 0
    assert "storage.W117" not in capsys.readouterr().out

    server.restart()  # no persistence: the blacklist and the marker are gone
    before = file_hashes(data)
    main(["doctor"])
    out = capsys.readouterr().out
    assert "storage.W117" in out
    assert "lost its data since" in out and "revoked tokens are valid again" in out
    assert file_hashes(data) == before  # doctor changed no byte of the primary

    assert main(["migrate", "--migrate"]) == 0
    assert "had lost its data since" in capsys.readouterr().err
    main(["doctor"])
    assert "storage.W117" not in capsys.readouterr().out
