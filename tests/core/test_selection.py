"""Backend selection precedence (DESIGN.md section 4) and its explanations."""

from __future__ import annotations

import pytest

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.selection import select
from aragora_storage_core.settings import Settings


def choose(env: dict[str, str], explicit: str | None = None) -> tuple[str, str, str]:
    selection = select(Settings.from_env(env), explicit)
    return selection.scheme, selection.source, str(selection.url)


def test_nothing_set_is_sqlite_legacy_under_nomic() -> None:
    assert choose({}) == ("sqlite", "default", "sqlite:///.nomic?mode=legacy")


def test_explicit_url_beats_everything() -> None:
    env = {"DATABASE_URL": "postgresql://u:pw@h/db", "ARAGORA_DB_MODE": "consolidated"}
    assert choose(env, "sqlite:///x.db")[:2] == ("sqlite", "explicit")


def test_database_url_beats_supabase_and_mode() -> None:
    env = {"DATABASE_URL": "postgres://u:pw@h/db", "SUPABASE_URL": "https://p.supabase.co",
           "SUPABASE_KEY": "k", "ARAGORA_DB_MODE": "consolidated"}
    assert choose(env) == ("postgresql", "DATABASE_URL", "postgresql://u:***@h/db")


def test_alias_database_url_is_used_alone_and_loses_with_a_warning() -> None:
    assert choose({"ARAGORA_DATABASE_URL": "postgresql://h/a"})[1] == "ARAGORA_DATABASE_URL"
    selection = select(Settings.from_env({"DATABASE_URL": "postgresql://h/a",
                                          "ARAGORA_DATABASE_URL": "postgresql://h/b"}))
    assert selection.url.database == "a"
    assert any("both set and differ" in w for w in selection.warnings)


def test_supabase_needs_its_key_and_hides_it() -> None:
    with pytest.raises(ConfigurationError, match="SUPABASE_KEY"):
        choose({"SUPABASE_URL": "https://p.supabase.co"})
    scheme, source, url = choose({"SUPABASE_URL": "https://p.supabase.co",
                                  "SUPABASE_KEY": "service-role-secret"})
    assert (scheme, source) == ("supabase", "SUPABASE_URL")
    assert "service-role-secret" not in url


def test_db_mode_selects_sqlite_under_the_data_dir_aliases() -> None:
    for var in ("ARAGORA_DATA_DIR", "ARAGORA_NOMIC_DIR", "NOMIC_DIR"):
        env = {"ARAGORA_DB_MODE": "consolidated", var: "/srv/data"}
        assert choose(env) == ("sqlite", "ARAGORA_DB_MODE",
                               "sqlite:////srv/data?mode=consolidated")


def test_data_dir_takes_precedence_over_its_aliases() -> None:
    settings = Settings.from_env({"ARAGORA_DATA_DIR": "/a", "NOMIC_DIR": "/b"})
    assert str(settings.data_dir) == "/a"
    assert settings.data_dir_source == "ARAGORA_DATA_DIR"


def test_invalid_mode_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"ARAGORA_DB_MODE": "fancy"})
    assert "legacy" in caught.value.message and "consolidated" in caught.value.message


def test_redis_url_is_added_beside_the_primary_and_masked() -> None:
    selection = select(Settings.from_env({"ARAGORA_REDIS_URL": "redis://:pw@h:6379/0"}))
    assert selection.scheme == "sqlite"
    assert selection.redis_source == "ARAGORA_REDIS_URL"
    assert "pw" not in str(selection.to_dict())


def test_redis_url_must_be_redis() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        select(Settings.from_env({"REDIS_URL": "postgresql://h/db"}))


@pytest.mark.parametrize("name,value", [("DB_TIMEOUT", "soon"),
                                        ("ARAGORA_SLOW_QUERY_MS", "-5"),
                                        ("ARAGORA_AUDIT_RETENTION_DAYS", "0"),
                                        ("ARAGORA_SQLITE_ENCRYPTION", "maybe")])
def test_bad_numbers_and_flags_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({name: value})
    assert name in caught.value.message


def test_settings_repr_hides_secrets() -> None:
    settings = Settings.from_env({"ARAGORA_SQLITE_KEY": "sqlite-secret",
                                  "ARAGORA_ENCRYPTION_KEY": "fernet-secret",
                                  "DATABASE_URL": "postgresql://u:url-secret@h/db"})
    text = repr(settings)
    for secret in ("sqlite-secret", "fernet-secret", "url-secret"):
        assert secret not in text
