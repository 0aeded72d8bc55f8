"""Settings read from the environment, validated once, with secrets kept out of ``repr``.

Every variable the package reads is declared in :data:`ENV_VARS`; the README table and
``doctor`` are built from that list.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.records import dataclass, field

#: The longest retention in days (a hundred years): past it no date can be computed.
MAX_RETENTION_DAYS = 36500


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, legacy aliases, default and meaning."""

    name: str
    default: str
    description: str
    aliases: tuple[str, ...] = ()
    secret: bool = False


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("DATABASE_URL", "-", "Primary backend URL (sqlite, postgresql, redis, ...)",
           ("ARAGORA_DATABASE_URL",), secret=True),
    EnvVar("SUPABASE_URL", "-", "Supabase project URL (needs SUPABASE_KEY)"),
    EnvVar("SUPABASE_KEY", "-", "Supabase service key", secret=True),
    EnvVar("SUPABASE_DB_URL", "-", "Supabase direct PostgreSQL connection string, used "
           "only to apply migrations and move id sequences after a restore", secret=True),
    EnvVar("SUPABASE_TIMEOUT", "10", "Seconds before a Supabase API request gives up"),
    EnvVar("REDIS_URL", "-", "Redis for token blacklist, stream events and cache",
           ("ARAGORA_REDIS_URL",), secret=True),
    EnvVar("ARAGORA_DB_MODE", "legacy", "SQLite layout: legacy (one file per database) "
           "or consolidated (4 files); unset, a data dir holding only consolidated files "
           "is consolidated"),
    EnvVar("ARAGORA_DATA_DIR", ".nomic", "Directory of the SQLite databases",
           ("ARAGORA_NOMIC_DIR", "NOMIC_DIR")),
    EnvVar("DB_TIMEOUT", "30", "SQLite busy timeout in seconds"),
    EnvVar("ARAGORA_SLOW_QUERY_MS", "500", "Log queries slower than this many milliseconds"),
    EnvVar("ARAGORA_AUDIT_RETENTION_DAYS", "90", "Days of audit log kept by cleanup"),
    EnvVar("ARAGORA_USAGE_RETENTION_DAYS", "90", "Days of raw usage events kept; older "
           "ones are folded into monthly totals"),
    EnvVar("ARAGORA_DB_POOL_SIZE", "10", "PostgreSQL pool size"),
    EnvVar("ARAGORA_DB_POOL_MAX_OVERFLOW", "5", "PostgreSQL connections beyond the pool"),
    EnvVar("ARAGORA_DB_POOL_TIMEOUT", "30", "Seconds to wait for a pooled connection"),
    EnvVar("DATABASE_REPLICA_URLS", "-", "PostgreSQL read replicas beside DATABASE_URL, "
           "comma separated (percent-encode a comma in a password as %2C)", secret=True),
    EnvVar("ARAGORA_DB_MAX_REPLICA_LAG", "5", "Seconds a replica may lag behind the primary "
           "before reads leave it until it catches up"),
    EnvVar("ARAGORA_DB_READ_YOUR_WRITES_WINDOW", "0", "Seconds after any write through a "
           "registry during which all its reads go to the primary (the writing thread or "
           "task always reads its own writes)"),
    EnvVar("ARAGORA_SQLITE_ENCRYPTION", "0", "1 to encrypt SQLite files with SQLCipher"),
    EnvVar("ARAGORA_SQLITE_KEY", "-", "SQLCipher key", secret=True),
    EnvVar("ARAGORA_ENCRYPTION_KEY", "-", "Fernet key(s) for column encryption, newest "
           "first, comma separated", secret=True),
    EnvVar("ARAGORA_SQLITE_KEY_FILE", "-", "File holding the SQLCipher key (a mounted "
           "secret; mode 0600), instead of ARAGORA_SQLITE_KEY"),
    EnvVar("ARAGORA_ENCRYPTION_KEY_FILE", "-", "File holding the Fernet key(s), one per "
           "line newest first, instead of ARAGORA_ENCRYPTION_KEY"),
    EnvVar("ARAGORA_SQLITE_NEW_KEY", "-", "New SQLCipher key for `encrypt rekey` "
           "(or --new-key-file)", secret=True),
    EnvVar("ARAGORA_AUTO_MIGRATE", "-", "Apply pending migrations when a store is first "
           "used: 1 yes, 0 no; unset: yes on SQLite, no on server backends (PostgreSQL, "
           "Supabase: run aragora-storage migrate)"),
    EnvVar("ARAGORA_MIGRATIONS_PATH", "-", "The application's migration folders "
           "(os.pathsep-separated, one sub-folder per database); --create writes into "
           "the first"),
    EnvVar("ARAGORA_STORAGE_DEBUG", "-", "1: the CLI shows the traceback of an unexpected "
           "error (which may quote secrets) instead of one line"),
    EnvVar("ARAGORA_STORAGE_DISABLE_PLUGINS", "-", "Comma list of plugin names or "
           "entry-point names never to import"),
    EnvVar("ARAGORA_STORAGE_SILENCED_CHECKS", "-", "Comma list of finding ids `doctor` "
           "leaves out (see docs/checks.md), e.g. `storage.W016`"),
    EnvVar("ARAGORA_STORAGE_TRACE_HOOKS", "-", "`1`: print every plugin hook call, its "
           "implementations and its result to stderr"),
)


def _first(env: Mapping[str, str], *names: str) -> tuple[str | None, str | None]:
    """Return ``(value, name)`` of the first non-empty variable among ``names``."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value, name
    return None, None


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0,
            maximum: float = math.inf) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a number, got {raw[:20]!r}",
            f"set {name} to a number, e.g. {default:g}",
        ) from None
    if value < minimum:
        raise ConfigurationError(
            f"{name} must be at least {minimum:g}", f"set {name} to a number >= {minimum:g}"
        )
    if value > maximum:
        raise ConfigurationError(
            f"{name} must be at most {maximum:g}", f"set {name} to a number <= {maximum:g}"
        )
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_flag(text: str) -> bool | None:
    """``True`` for 1/true/yes/on, ``False`` for 0/false/no/off, else ``None``."""
    word = text.strip().lower()
    return True if word in _TRUE else False if word in _FALSE else None


def _auto_migrate(env: Mapping[str, str]) -> bool | None:
    """``ARAGORA_AUTO_MIGRATE``: ``None`` when unset (each backend decides), else the flag."""
    text = env.get("ARAGORA_AUTO_MIGRATE", "").strip()
    if not text:
        return None
    flag = parse_flag(text)
    if flag is None:
        raise ConfigurationError("ARAGORA_AUTO_MIGRATE must be 1 or 0",
                                 "export ARAGORA_AUTO_MIGRATE=1 (or 0), or unset it")
    return flag


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with :meth:`from_env`; secrets never show in ``repr``."""

    data_dir: Path = Path(".nomic")
    data_dir_source: str = "default"
    db_mode: str | None = None
    db_timeout: float = 30.0
    slow_query_ms: float = 500.0
    audit_retention_days: int = 90
    usage_retention_days: int = 90
    pool_size: int = 10
    pool_max_overflow: int = 5
    pool_timeout: float = 30.0
    replica_urls: tuple[str, ...] = field(default=(), repr=False)
    max_replica_lag: float = 5.0
    read_your_writes_window: float = 0.0
    sqlite_encryption: bool = False
    sqlite_key: str | None = field(default=None, repr=False)
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    disabled_plugins: frozenset[str] = frozenset()
    silenced_checks: frozenset[str] = frozenset()
    trace_hooks: bool = False
    #: ``ARAGORA_AUTO_MIGRATE`` (``None`` when unset: each backend's own default).
    auto_migrate: bool | None = None
    #: Set by ``doctor`` (never by the environment): backends only inspect, changing no byte.
    read_only: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting from ``env`` (default: ``os.environ``)."""
        env = dict(os.environ if env is None else env)
        data_dir, source = _first(env, "ARAGORA_DATA_DIR", "ARAGORA_NOMIC_DIR", "NOMIC_DIR")
        mode = env.get("ARAGORA_DB_MODE", "").strip().lower() or None
        if mode is not None and mode not in ("legacy", "consolidated"):
            raise ConfigurationError(
                "ARAGORA_DB_MODE must be 'legacy' or 'consolidated'",
                "export ARAGORA_DB_MODE=legacy (or consolidated), or unset it",
            )
        encryption = parse_flag(env.get("ARAGORA_SQLITE_ENCRYPTION", "") or "0")
        if encryption is None:
            raise ConfigurationError(
                "ARAGORA_SQLITE_ENCRYPTION must be 1 or 0", "export ARAGORA_SQLITE_ENCRYPTION=1"
            )
        raw_keys = env.get("ARAGORA_ENCRYPTION_KEY", "").split(",")
        keys = tuple(k.strip() for k in raw_keys if k.strip())
        disabled = env.get("ARAGORA_STORAGE_DISABLE_PLUGINS", "")
        return cls(
            data_dir=Path(data_dir or ".nomic"),
            data_dir_source=source or "default",
            db_mode=mode,
            db_timeout=_number(env, "DB_TIMEOUT", 30.0),
            slow_query_ms=_number(env, "ARAGORA_SLOW_QUERY_MS", 500.0),
            audit_retention_days=int(_number(env, "ARAGORA_AUDIT_RETENTION_DAYS", 90, minimum=1,
                                             maximum=MAX_RETENTION_DAYS)),
            usage_retention_days=int(_number(env, "ARAGORA_USAGE_RETENTION_DAYS", 90, minimum=1,
                                             maximum=MAX_RETENTION_DAYS)),
            pool_size=int(_number(env, "ARAGORA_DB_POOL_SIZE", 10, minimum=1)),
            pool_max_overflow=int(_number(env, "ARAGORA_DB_POOL_MAX_OVERFLOW", 5)),
            pool_timeout=_number(env, "ARAGORA_DB_POOL_TIMEOUT", 30.0),
            replica_urls=tuple(u.strip() for u in env.get("DATABASE_REPLICA_URLS", "").split(",")
                               if u.strip()),
            max_replica_lag=_number(env, "ARAGORA_DB_MAX_REPLICA_LAG", 5.0, minimum=0.001),
            read_your_writes_window=_number(env, "ARAGORA_DB_READ_YOUR_WRITES_WINDOW", 0.0),
            sqlite_encryption=encryption,
            sqlite_key=env.get("ARAGORA_SQLITE_KEY") or None,
            encryption_keys=keys,
            disabled_plugins=frozenset(p.strip() for p in disabled.split(",") if p.strip()),
            silenced_checks=frozenset(
                c.strip() for c in env.get("ARAGORA_STORAGE_SILENCED_CHECKS", "").split(",")
                if c.strip()),
            trace_hooks=parse_flag(env.get("ARAGORA_STORAGE_TRACE_HOOKS", "0")) is True,
            auto_migrate=_auto_migrate(env),
            env=env,
        )
