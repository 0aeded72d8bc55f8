"""Which backend the environment selects, and why (DESIGN.md section 4).

First match wins: an explicit URL; ``DATABASE_URL`` (alias ``ARAGORA_DATABASE_URL``);
``SUPABASE_URL`` with ``SUPABASE_KEY``; ``ARAGORA_DB_MODE``; else SQLite under the data
directory, legacy mode unless the directory holds only consolidated files.
``REDIS_URL`` (alias ``ARAGORA_REDIS_URL``) adds Redis beside;
``SUPABASE_URL`` with ``SUPABASE_KEY`` beside an explicitly chosen primary
(``DATABASE_URL``, or ``ARAGORA_DB_MODE``) adds Supabase beside it (the seed's dual
storage), and alone makes Supabase the primary.
"""

from __future__ import annotations

from typing import Any

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.layout import DatabaseMode, files_on_disk
from aragora_storage_core.records import dataclass
from aragora_storage_core.settings import Settings
from aragora_storage_core.url import StorageURL, parse_url


@dataclass(frozen=True)
class Selection:
    """The selected primary URL, the variable that chose it, and the URLs beside it:
    Redis (``REDIS_URL``) and Supabase (``SUPABASE_URL`` beside a chosen primary)."""

    url: StorageURL
    source: str
    reason: str
    warnings: tuple[str, ...] = ()
    redis_url: StorageURL | None = None
    redis_source: str | None = None
    supabase_url: StorageURL | None = None

    @property
    def scheme(self) -> str:
        """The primary URL's scheme, which names the backend entry point."""
        return self.url.scheme

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; URLs masked."""
        return {
            "scheme": self.scheme,
            "url": self.url.render(),
            "source": self.source,
            "reason": self.reason,
            "warnings": list(self.warnings),
            "redis_url": self.redis_url.render() if self.redis_url else None,
            "redis_source": self.redis_source,
            "supabase_url": self.supabase_url.render() if self.supabase_url else None,
        }


def _env_url(env: dict[str, str], primary: str, alias: str,
             warnings: list[str]) -> tuple[str | None, str | None]:
    value = env.get(primary, "").strip()
    aliased = env.get(alias, "").strip()
    if value and aliased and value != aliased:
        warnings.append(f"{primary} and {alias} are both set and differ; {primary} wins")
    if value:
        return value, primary
    if aliased:
        return aliased, alias
    return None, None


def sqlite_url(settings: Settings, mode: str) -> StorageURL:
    """The SQLite URL of the data directory in ``mode``."""
    return StorageURL(scheme="sqlite", database=str(settings.data_dir), query=(("mode", mode),))


def supabase_url(env: dict[str, str]) -> StorageURL | None:
    """The ``supabase://`` URL of ``SUPABASE_URL`` and ``SUPABASE_KEY``; ``None`` if unset."""
    supabase = env.get("SUPABASE_URL", "").strip()
    if not supabase:
        return None
    key = env.get("SUPABASE_KEY", "").strip()
    if not key:
        raise ConfigurationError(
            "SUPABASE_URL is set but SUPABASE_KEY is not",
            "export SUPABASE_KEY=<service-role key>, or unset SUPABASE_URL",
        )
    parsed = parse_url(supabase)
    if parsed.scheme not in ("https", "http"):
        raise ConfigurationError(
            "SUPABASE_URL must be an https:// project URL",
            "export SUPABASE_URL=https://<project>.supabase.co",
        )
    parsed.reject_unknown_options((), "SUPABASE_URL")
    return StorageURL(scheme="supabase", password=key, host=parsed.host, port=parsed.port,
                      query=(("protocol", parsed.scheme),))


def select(settings: Settings, explicit: str | None = None) -> Selection:
    """Apply the selection rules to ``settings.env``; raise on a URL that cannot work."""
    env = dict(settings.env)
    warnings: list[str] = []
    redis_text, redis_source = _env_url(env, "REDIS_URL", "ARAGORA_REDIS_URL", warnings)
    redis_url = parse_url(redis_text) if redis_text else None
    if redis_url is not None and redis_url.scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"{redis_source} must be a redis:// or rediss:// URL",
            f"export {redis_source}=redis://localhost:6379/0",
        )

    def done(url: StorageURL, source: str, reason: str,
             beside: StorageURL | None = None) -> Selection:
        return Selection(url, source, reason, tuple(warnings), redis_url, redis_source, beside)

    if explicit:
        return done(parse_url(explicit), "explicit", "URL passed in code or on the command line")
    supabase = supabase_url(env)
    text, source = _env_url(env, "DATABASE_URL", "ARAGORA_DATABASE_URL", warnings)
    if text and source:
        reason = f"{source} is set" + ("; Supabase beside it" if supabase else "")
        return done(parse_url(text), source, reason, beside=supabase)
    if supabase is not None:
        if settings.db_mode:
            return done(sqlite_url(settings, settings.db_mode), "ARAGORA_DB_MODE",
                        f"ARAGORA_DB_MODE={settings.db_mode}: SQLite under "
                        f"{settings.data_dir}; Supabase beside it", beside=supabase)
        return done(supabase, "SUPABASE_URL", "SUPABASE_URL and SUPABASE_KEY are set")
    if settings.db_mode:
        return done(sqlite_url(settings, settings.db_mode), "ARAGORA_DB_MODE",
                    f"ARAGORA_DB_MODE={settings.db_mode}: SQLite under {settings.data_dir}")
    found = files_on_disk(settings.data_dir)
    source = "files" if found.mode is DatabaseMode.CONSOLIDATED else "default"
    return done(sqlite_url(settings, found.mode.value), source,
                found.reason(settings.data_dir))
