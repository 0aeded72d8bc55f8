"""The registry: selection, plugin loading, the active backend and its stores.

``get_registry()`` returns the process-wide registry built from ``os.environ``; build a
:class:`Registry` yourself to use other settings (tests, tools, several backends).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from aragora_storage_core.backend import Backend
from aragora_storage_core.errors import (
    BackendNotInstalledError,
    BackendUnavailableError,
    PluginLoadError,
    StoreNotServedError,
    UnknownSchemeError,
)
from aragora_storage_core.plugins import PluginHost, PluginRecord
from aragora_storage_core.records import dataclass, replace
from aragora_storage_core.selection import Selection, select
from aragora_storage_core.settings import Settings
from aragora_storage_core.sql.dialect import Dialect
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.stores.table import kind_of
from aragora_storage_core.url import StorageURL, parse_url

if TYPE_CHECKING:
    from aragora_storage_core.stores.async_protocols import AsyncStores

T = TypeVar("T")

#: Schemes of the first-party backends and the extra that installs each.
KNOWN_EXTRAS: Mapping[str, str] = {
    "postgresql": "postgres",
    "redis": "redis",
    "rediss": "redis",
    "supabase": "supabase",
}
#: Stores that go to Redis when ``REDIS_URL`` is set beside another primary backend.
REDIS_ROUTED: frozenset[StoreKind] = frozenset(
    {StoreKind.TOKEN_BLACKLIST, StoreKind.STREAM_EVENTS, StoreKind.CACHE}
)
#: The seed's Supabase tables: their stores go to Supabase when ``SUPABASE_URL`` and
#: ``SUPABASE_KEY`` are set beside an explicitly chosen primary (Redis still takes
#: ``stream_events`` when ``REDIS_URL`` is set too).
SUPABASE_ROUTED: frozenset[StoreKind] = frozenset(
    {StoreKind.NOMIC_CYCLES, StoreKind.DEBATE_ARTIFACTS, StoreKind.STREAM_EVENTS,
     StoreKind.AGENT_METRICS}
)
#: Sources of the primary backend's URL: only its backend reads from DATABASE_REPLICA_URLS
#: (``copy --from/--to`` and Redis never do).
PRIMARY_SOURCES = frozenset({"explicit", "DATABASE_URL", "ARAGORA_DATABASE_URL"})


@dataclass(frozen=True)
class BackendInfo:
    """One installed backend as ``plugins`` and ``get_registry().backends()`` list it."""

    name: str
    schemes: tuple[str, ...]
    distribution: str | None
    version: str | None
    status: str
    error: str | None
    stores: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "schemes": list(self.schemes),
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "stores": list(self.stores),
        }


class Registry:
    """Selects and opens backends through the plugin system."""

    def __init__(self, settings: Settings | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.settings = settings or Settings.from_env(env)
        self.host = PluginHost(self.settings.disabled_plugins, self.settings.trace_hooks)
        self._lock = threading.RLock()
        self._active: Backend | None = None
        self._redis: Backend | None = None
        self._supabase: Backend | None = None
        self._opened: list[Backend] = []
        self._keyed: Settings | None = None
        self._selection: Selection | None = None

    @property
    def hook(self) -> Any:
        """The pluggy hook relay: ``registry.hook.storage_migrate(...)``."""
        return self.host.pm.hook

    def explain(self, url: str | None = None) -> Selection:
        """The selection for ``url`` or the environment: backend, variable, masked URL."""
        if url is not None:
            return select(self.settings, url)
        if self._selection is None:  # the settings never change: select once
            self._selection = select(self.settings)
        return self._selection

    def plugins(self) -> list[PluginRecord]:
        """Every plugin entry point, imported, with status, version and hooks."""
        return self.host.load_all()

    def backends(self, load: bool = False) -> list[BackendInfo]:
        """Installed backends (name, schemes, distribution, version, status, stores).

        Without ``load`` nothing is imported and ``stores`` is empty until a backend has
        been used; with ``load`` every backend plugin is imported to fill it in.
        """
        if load:
            self.host.load_all()
        grouped: dict[str, list[PluginRecord]] = {}
        for record in self.host.backend_records():
            grouped.setdefault(record.value, []).append(record)
        infos = []
        for records in grouped.values():
            first = records[0]
            stores: frozenset[str] = getattr(first.plugin, "STORES", frozenset())
            infos.append(BackendInfo(
                name=getattr(first.plugin, "BACKEND_NAME", first.name),
                schemes=tuple(sorted(r.name for r in records)),
                distribution=first.distribution,
                version=first.version,
                status=first.status,
                error=first.error,
                stores=tuple(sorted(StoreKind(s).value for s in stores)),
            ))
        return sorted(infos, key=lambda i: i.name)

    def connect(self, url: StorageURL | str, source: str = "explicit") -> Backend:
        """Open a new backend for ``url``; :meth:`close` closes it with the others."""
        parsed = parse_url(url) if isinstance(url, str) else url
        records = self.host.load_backend(parsed.scheme)
        if not records:
            self._raise_missing(parsed.scheme, source)
        failed = [r for r in records if r.status != "loaded"]
        if failed and len(failed) == len(records):
            record = failed[0]
            raise PluginLoadError(
                f"backend plugin {record.distribution or record.value} for {parsed.scheme}:// "
                f"could not be loaded: {record.error}",
                "remove it from ARAGORA_STORAGE_DISABLE_PLUGINS" if record.status == "disabled"
                else "reinstall it, or check `aragora-storage plugins`",
            )
        settings = self.keyed_settings()
        if source not in PRIMARY_SOURCES:
            settings = replace(settings, replica_urls=())
        backend: Backend | None = self.hook.storage_connect(url=parsed, settings=settings)
        if backend is None:
            raise BackendUnavailableError(
                f"no installed plugin accepted the {parsed.scheme}:// URL from {source}",
                "check `aragora-storage plugins` for the plugin of that scheme",
            )
        backend.hook, backend.registry = self.hook, self
        with self._lock:
            self._opened.append(backend)
        return backend

    def dialect(self, scheme: str) -> Dialect:
        """The SQL dialect of the installed backend plugin for ``scheme`` (its ``DIALECT``),
        without connecting: for tools writing that database's DDL (schema files)."""
        records = [r for r in self.host.load_backend(scheme) if r.status == "loaded"]
        dialect = next((getattr(r.plugin, "DIALECT", None) for r in records), None)
        if dialect is None:
            self._raise_missing(scheme, "a dialect lookup")
            raise UnknownSchemeError(f"the {scheme} backend declares no DIALECT",
                                     "upgrade its plugin")
        return cast(Dialect, dialect)

    def keyed_settings(self) -> Settings:
        """The settings with keys from key-provider plugins, the env and key files (once)."""
        if self._keyed is None:
            from aragora_storage_core.encryption.keys import with_keys

            self._keyed = with_keys(self.settings, self.hook)
        return self._keyed

    def _raise_missing(self, scheme: str, source: str) -> None:
        installed = ", ".join(self.host.schemes()) or "none"
        extra = KNOWN_EXTRAS.get(scheme)
        if extra:
            raise BackendNotInstalledError(
                f"the {scheme} backend (selected by {source}) is not installed",
                f"pip install 'aragora-storage[{extra}]'",
            )
        known = ", ".join(f"{s} ([{e}])" for s, e in sorted(KNOWN_EXTRAS.items()))
        raise UnknownSchemeError(
            f"unknown database URL scheme {scheme!r} (from {source}); installed: {installed}",
            f"use an installed scheme, or install a plugin; extras provide {known}",
        )

    def active(self) -> Backend:
        """The backend the environment selects, opened once and shared."""
        if self._active is None:
            with self._lock:
                if self._active is None:
                    selection = self.explain()
                    self._active = self.connect(selection.url, selection.source)
        return self._active

    def redis(self) -> Backend | None:
        """The Redis backend beside the primary one, when ``REDIS_URL`` is set."""
        if self._redis is None:
            selection = self.explain()
            if selection.redis_url is None:
                return None
            with self._lock:
                if self._redis is None:
                    self._redis = self.connect(selection.redis_url, selection.redis_source or "")
        return self._redis

    def supabase(self) -> Backend | None:
        """The Supabase backend beside the primary one (``SUPABASE_URL`` beside a chosen
        primary); ``None`` when Supabase is not set or is itself the primary."""
        if self._supabase is None:
            selection = self.explain()
            if selection.supabase_url is None:
                return None
            with self._lock:
                if self._supabase is None:
                    self._supabase = self.connect(selection.supabase_url, "SUPABASE_URL")
        return self._supabase

    def route(self, kind: StoreKind | str) -> Backend:
        """The backend that serves store ``kind``: Redis, then Supabase for their stores
        when set beside the primary, else the primary."""
        kind = StoreKind(kind)
        if kind in REDIS_ROUTED:
            redis = self.redis()
            if redis is not None and redis.serves(kind):
                return redis
        if kind in SUPABASE_ROUTED:
            supabase = self.supabase()
            if supabase is not None and supabase.serves(kind):
                return supabase
        return self.active()

    @overload
    def store(self, kind: Callable[..., T]) -> T: ...

    @overload
    def store(self, kind: StoreKind | str) -> Any: ...

    def store(self, kind: StoreKind | str | Callable[..., Any]) -> Any:
        """Return the store ``kind`` from the backend that serves it.

        ``kind`` is a protocol class (``registry.store(UserStore)``, typed as ``UserStore``),
        a :class:`StoreKind` or its name (``"users"``). A store no selected backend serves
        raises :class:`StoreNotServedError` naming the installed backends that do serve it.
        """
        kind = kind_of(kind)
        backend = self.route(kind)
        if not backend.serves(kind):
            serving = [info.name for info in self.backends(load=True)
                       if kind.value in info.stores]
            raise StoreNotServedError(
                f"backend {backend.name} does not serve the {kind.value} store; "
                f"installed backends that do: {', '.join(serving) or 'none'}",
                "point DATABASE_URL at one of them (see `aragora-storage plugins`)"
                if serving else "install a backend plugin that serves it",
            )
        return backend.store(kind)

    @property
    def astore(self) -> AsyncStores:
        """``await registry.astore(UserStore).get_by_email(...)``: the async twin of
        :meth:`store`, routed the same way (docs/async.md).

        Typed by the protocol (``registry.astore(UserStore)`` is an ``AsyncUserStore``);
        a kind or its name works too. Each method is a coroutine function.
        """
        return cast("AsyncStores", _AsyncStoreLookup(self))

    async def aclose(self) -> None:
        """Close the async connections opened on the running event loop (then
        :meth:`close` for the rest)."""
        with self._lock:
            opened = list(self._opened)
        for backend in opened:
            await backend.aclose()

    def primary(self) -> AbstractContextManager[None]:
        """``with registry.primary():`` every read of this thread or task goes to the primary.

        For reads that must see the newest data when ``DATABASE_REPLICA_URLS`` is set (see
        docs/scaling.md); without replicas every read goes to the primary anyway.
        """
        from aragora_storage_core.consistency import primary_reads  # contextvars on use

        return primary_reads()

    def close(self) -> None:
        """Close the backends this registry opened."""
        with self._lock:
            for backend in self._opened:
                backend.close()
            self._opened.clear()
            self._active = self._redis = self._supabase = None


class _AsyncStoreLookup:
    """What ``registry.astore`` returns: called with a kind, the routed async store."""

    __slots__ = ("_registry",)

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __call__(self, kind: Any) -> Any:
        kind = kind_of(kind)
        self._registry.store(kind)  # the same routing, and errors, as the sync API
        return self._registry.route(kind).astore(kind)


_registry: Registry | None = None
_registry_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry built from ``os.environ`` on first use."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = Registry()
    return _registry


def reset_registry() -> None:
    """Close and forget the process-wide registry (after changing the environment)."""
    global _registry
    with _registry_lock:
        if _registry is not None:
            _registry.close()
        _registry = None
