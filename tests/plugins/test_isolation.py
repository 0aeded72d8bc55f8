"""A broken plugin is reported and never takes the host down, unless it is the backend.

Each plugin here is a real distribution with real entry points on a temporary
``sys.path`` entry (see ``fixtures.fake_site``): nothing in ``importlib`` is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.fake_site import FakeSite

from aragora_storage_core.cli import main
from aragora_storage_core.doctor import diagnose
from aragora_storage_core.errors import PluginLoadError
from aragora_storage_core.models import User
from aragora_storage_core.plugins import BACKEND_GROUP, PLUGIN_GROUP, PluginRecord
from aragora_storage_core.registry import Registry
from aragora_storage_core.settings import Settings

FAILS_AT_IMPORT = "raise RuntimeError('boom while importing')\n"
HEALTH_WRAPPER = (
    "from aragora_storage_core import hookimpl\n"
    "from aragora_storage_core.checks import Check, Level\n"
    "@hookimpl(wrapper=True)\n"
    "def storage_health(backend):\n"
    "    results = yield\n"
    "    seen = sum(len(found or []) for found in results)\n"
    "    return [*results, [Check('wrap.I001', Level.INFO, f'wrapped {seen} findings')]]\n"
)
HEALTH_RAISES = (
    "from aragora_storage_core import hookimpl\n"
    "@hookimpl\n"
    "def storage_health(backend):\n"
    "    raise ValueError('kaput')\n"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"ARAGORA_DATA_DIR": str(tmp_path / "data"), **extra}


def _record(registry: Registry, name: str) -> PluginRecord:
    matches = [r for r in registry.host.records if r.name == name]
    assert len(matches) == 1, [r.name for r in registry.host.records]
    return matches[0]


def _sqlite_round_trip(registry: Registry) -> None:
    users = registry.store("users")
    users.create(User(id="u1", email="a@example.com", password_hash="h", password_salt="s"))
    found = users.get_by_id("u1")
    assert found is not None
    assert found.email == "a@example.com"
    assert registry.active().name == "sqlite"


def test_extension_plugin_that_fails_to_import_is_reported_and_sqlite_still_works(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-broken", "0.3.0", {PLUGIN_GROUP: {"broken": "broken_ext"}},
        {"broken_ext": FAILS_AT_IMPORT},
    )
    registry = Registry(Settings.from_env(_env(tmp_path)))
    record = _record(registry, "broken")
    assert record.status == "failed"
    assert record.error == "RuntimeError: boom while importing"
    assert (record.distribution, record.version) == ("aragora-storage-broken", "0.3.0")
    _sqlite_round_trip(registry)
    registry.close()


def test_plugins_command_lists_the_failed_plugin_with_its_error(
    fake_site: FakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_site.install(
        "aragora-storage-broken", "0.3.0", {PLUGIN_GROUP: {"broken": "broken_ext"}},
        {"broken_ext": FAILS_AT_IMPORT},
    )
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listed["broken"]["status"] == "failed"
    assert "boom while importing" in listed["broken"]["error"]
    assert listed["sqlite"]["status"] == "loaded"


def test_health_hook_that_raises_becomes_a_finding_and_doctor_goes_on(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-flaky", "1.0.0", {PLUGIN_GROUP: {"flaky": "flaky_health"}},
        {"flaky_health": HEALTH_RAISES},
    )
    registry = Registry(Settings.from_env(_env(tmp_path)))
    _sqlite_round_trip(registry)  # a database to check, so the built-in checks report
    registry.close()
    diagnosis = diagnose(_env(tmp_path))
    raised = [f for f in diagnosis.findings if "flaky_health" in f.message]
    assert [f.id for f in raised] == ["storage.E020"]
    assert "ValueError" in raised[0].message
    assert "ARAGORA_STORAGE_DISABLE_PLUGINS" in raised[0].hint
    assert any(f.id == "storage.I030" for f in diagnosis.findings), "built-in checks still ran"


def test_health_wrapper_of_an_extension_plugin_sees_and_extends_the_findings(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-wrap", "1.0.0", {PLUGIN_GROUP: {"wrap": "wrap_health"}},
        {"wrap_health": HEALTH_WRAPPER},
    )
    registry = Registry(Settings.from_env(_env(tmp_path)))
    _sqlite_round_trip(registry)
    checks = registry.host.collect_health(registry.active())
    registry.close()
    wrapped = [c for c in checks if c.id == "wrap.I001"]
    assert [c.message for c in wrapped] == [f"wrapped {len(checks) - 1} findings"]
    assert any(c.id == "storage.I030" for c in checks)


def test_health_wrapper_that_raises_becomes_a_finding_and_keeps_the_other_checks(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-wrap", "1.0.0", {PLUGIN_GROUP: {"wrap": "wrap_broken"}},
        {"wrap_broken": HEALTH_WRAPPER.replace("    results = yield\n",
                                               "    results = yield\n    1 / 0\n")},
    )
    registry = Registry(Settings.from_env(_env(tmp_path)))
    _sqlite_round_trip(registry)
    checks = registry.host.collect_health(registry.active())
    registry.close()
    raised = [c for c in checks if c.id == "storage.E020"]
    assert len(raised) == 1
    assert "ZeroDivisionError" in raised[0].message
    assert any(c.id == "storage.I030" for c in checks)


def test_broken_backend_plugin_that_is_selected_raises_plugin_load_error(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-memo", "0.1.0", {BACKEND_GROUP: {"memo": "memo_backend"}},
        {"memo_backend": "import memo_driver_that_is_not_installed\n"},
    )
    url = "memo://admin:s3cr3t-pw@localhost/app"
    registry = Registry(Settings.from_env(_env(tmp_path, DATABASE_URL=url)))
    with pytest.raises(PluginLoadError) as raised:
        registry.store("users")
    text = f"{raised.value.message} {raised.value.hint}"
    assert "aragora-storage-memo" in raised.value.message
    assert "memo_driver_that_is_not_installed" in raised.value.message
    assert "s3cr3t-pw" not in text
    assert _record(registry, "memo").status == "failed"


def test_broken_backend_of_a_scheme_not_in_use_is_never_imported(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-memo", "0.1.0", {BACKEND_GROUP: {"memo": "memo_backend"}},
        {"memo_backend": fake_site.source("memo_backend", FAILS_AT_IMPORT)},
    )
    registry = Registry(Settings.from_env(_env(tmp_path)))
    _sqlite_round_trip(registry)
    assert not fake_site.marker("memo_backend").exists()
    assert _record(registry, "memo").status == "not loaded"
    registry.close()


def test_disabling_a_plugin_that_breaks_at_import_keeps_it_from_being_imported(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-broken", "0.3.0", {PLUGIN_GROUP: {"broken": "broken_ext"}},
        {"broken_ext": fake_site.source("broken_ext", FAILS_AT_IMPORT)},
    )
    env = _env(tmp_path, ARAGORA_STORAGE_DISABLE_PLUGINS="aragora-storage-broken")
    registry = Registry(Settings.from_env(env))
    registry.plugins()
    assert _record(registry, "broken").status == "disabled"
    assert not fake_site.marker("broken_ext").exists()
    _sqlite_round_trip(registry)
    registry.close()


def test_disabling_a_backend_by_one_scheme_blocks_its_other_schemes_too(
    fake_site: FakeSite, tmp_path: Path,
) -> None:
    fake_site.install(
        "aragora-storage-memo", "0.1.0",
        {BACKEND_GROUP: {"memo": "memo_backend", "memodb": "memo_backend"}},
        {"memo_backend": fake_site.source("memo_backend", "")},
    )
    env = _env(tmp_path, ARAGORA_STORAGE_DISABLE_PLUGINS="memo")
    registry = Registry(Settings.from_env(env))
    with pytest.raises(PluginLoadError) as raised:
        registry.connect("memodb://somewhere/db")
    assert "ARAGORA_STORAGE_DISABLE_PLUGINS" in raised.value.hint
    registry.plugins()
    assert {_record(registry, n).status for n in ("memo", "memodb")} == {"disabled"}
    assert not fake_site.marker("memo_backend").exists()
    registry.close()


def test_an_unexpected_error_in_a_command_is_one_line_without_its_text(
    fake_site: FakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_site.install(
        "aragora-storage-leaky", "0.1.0", {PLUGIN_GROUP: {"leaky": "leaky_ext"}},
        {"leaky_ext": (
            "from aragora_storage_core import hookimpl\n"
            "@hookimpl(tryfirst=True)\n"
            "def storage_migrate(backend, request):\n"
            "    raise RuntimeError('driver said: password=hunter2 rejected')\n"
        )},
    )
    monkeypatch.setenv("ARAGORA_DATA_DIR", str(tmp_path / "data"))
    assert main(["migrate", "--status"]) == 1
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err
    assert captured.err.splitlines() == [
        "error: unexpected RuntimeError (its text is not shown: it may quote a secret)",
        "hint: run again with ARAGORA_STORAGE_DEBUG=1 to see the traceback, and report it",
    ]
    monkeypatch.setenv("ARAGORA_STORAGE_DEBUG", "1")
    with pytest.raises(RuntimeError, match="hunter2"):
        main(["migrate", "--status"])
