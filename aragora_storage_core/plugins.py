"""Discover, load and isolate plugins.

Entry points are read as metadata without importing anything. Backend plugins
(``aragora_storage.backends``, one entry per URL scheme) are imported only when their
scheme is needed; extension plugins (``aragora_storage.plugins``) are always imported.
Each import happens in its own ``try``: a broken plugin is recorded, never fatal, unless
it is the selected backend. ``ARAGORA_STORAGE_DISABLE_PLUGINS`` blocks plugins before
they are imported.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pluggy

from aragora_storage_core import entry_points, hookspecs
from aragora_storage_core.hookspecs import PROJECT
from aragora_storage_core.plugin_versions import API_VERSION, incompatibility
from aragora_storage_core.records import dataclass, field

if TYPE_CHECKING:  # findings load with the first health check, not with the plugins
    from aragora_storage_core.checks import Check

BACKEND_GROUP = "aragora_storage.backends"
PLUGIN_GROUP = "aragora_storage.plugins"


@dataclass
class PluginRecord:
    """One entry point and its status: ``not loaded``, ``loaded``, ``failed``, ``disabled``,
    or ``incompatible`` (its ``PLUGIN_API`` range excludes this plugin API's version)."""

    name: str
    group: str
    value: str
    distribution: str | None
    version: str | None
    status: str = "not loaded"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    plugin: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "group": self.group,
            "module": self.value,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
        }


def _module(record: PluginRecord) -> str:
    return record.value.split(":")[0].strip()


def _names(record: PluginRecord) -> set[str]:
    """Every name ``ARAGORA_STORAGE_DISABLE_PLUGINS`` may block ``record`` by."""
    names = {record.name, record.value, _module(record), record.distribution}
    return {name for name in names if name}


class PluginHost:
    """The pluggy manager plus a record of every plugin entry point."""

    def __init__(self, disabled: frozenset[str] = frozenset(), trace: bool = False) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if trace:  # ARAGORA_STORAGE_TRACE_HOOKS=1: every hook call on stderr
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)
        self.disabled = disabled
        self._lock = threading.Lock()
        from aragora_storage_core import builtin

        self.pm.register(builtin, name="aragora_storage_core.builtin")
        found = entry_points.find((BACKEND_GROUP, PLUGIN_GROUP, entry_points.MIGRATIONS_GROUP))
        self.records = [PluginRecord(ep.name, ep.group, ep.value, ep.distribution, ep.version)
                        for group in (BACKEND_GROUP, PLUGIN_GROUP)
                        for ep in found if ep.group == group]
        #: The entry points naming migration folders (not imported until a migrator needs
        #: them: ``files.search_path(env, host.migrations)``).
        self.migrations = [ep for ep in found if ep.group == entry_points.MIGRATIONS_GROUP]
        for record in self.records:
            if record.group == PLUGIN_GROUP:
                self._load(record)

    def _is_disabled(self, record: PluginRecord) -> bool:
        """Blocked by name, or its module is that of an entry point blocked by name.

        A backend has one entry point per scheme (``postgres``, ``postgresql``), all naming
        one module: blocking any of them keeps that module from being imported at all.
        """
        module = _module(record)
        return any(_module(other) == module and self.disabled & _names(other)
                   for other in self.records)

    def _load(self, record: PluginRecord) -> PluginRecord:
        if record.status != "not loaded":
            return record
        if self._is_disabled(record):
            record.status = "disabled"
            record.error = "blocked by ARAGORA_STORAGE_DISABLE_PLUGINS"
            return record
        try:
            plugin = entry_points.load(record.value)
            module = importlib.import_module(record.value.split(":")[0].strip())
            reason = incompatibility(getattr(module, "PLUGIN_API", None), API_VERSION)
            if reason is not None:
                record.status, record.error = "incompatible", reason
                return record
            if not self.pm.is_registered(plugin):
                self.pm.register(plugin, name=record.value)
        except Exception as exc:  # an isolated plugin failure is recorded, not raised
            record.status = "failed"
            record.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            return record
        record.plugin = plugin
        record.status = "loaded"
        record.hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ())
        return record

    def backend_records(self, scheme: str | None = None) -> list[PluginRecord]:
        """Backend entry points, all or those named ``scheme``."""
        return [
            r for r in self.records
            if r.group == BACKEND_GROUP and (scheme is None or r.name == scheme)
        ]

    def load_backend(self, scheme: str) -> list[PluginRecord]:
        """Import the plugins registered for ``scheme``; return their records."""
        with self._lock:
            return [self._load(r) for r in self.backend_records(scheme)]

    def load_all(self) -> list[PluginRecord]:
        """Import every plugin (for ``plugins`` and ``doctor``); return every record."""
        with self._lock:
            return [self._load(r) for r in self.records]

    def schemes(self) -> list[str]:
        """Every installed backend scheme."""
        return sorted({r.name for r in self.backend_records()})

    def collect_health(self, backend: Any) -> list[Check]:
        """Call ``storage_health`` on every plugin; a plugin that raises becomes a finding.

        Each implementation runs in its own ``try``; wrappers (``hookimpl(wrapper=True)``)
        run around all of them together and see every finding, and a wrapper that raises
        is one finding too (the findings of the others are kept).
        """
        impls = self.pm.hook.storage_health.get_hookimpls()
        plain = [i for i in impls if not (i.wrapper or i.hookwrapper)]
        if len(plain) == len(impls):
            return _isolated_health(plain, backend)
        collected: list[Check] = []

        def every_plain_impl(backend: Any) -> list[Check]:
            collected.extend(_isolated_health(plain, backend))
            return collected

        wrappers = self.pm.subset_hook_caller(
            "storage_health", remove_plugins=[i.plugin for i in plain])
        try:
            results = wrappers.call_extra([every_plain_impl], {"backend": backend})
        except Exception as exc:  # isolate: a broken wrapper is one finding
            return [*collected, _raised("a storage_health wrapper of a plugin", exc)]
        return [check for found in results for check in (found or [])]


def _raised(what: str, exc: Exception) -> Check:
    from aragora_storage_core.checks import Check, Level

    return Check(
        "storage.E020",
        Level.ERROR,
        f"{what} raised {type(exc).__name__}",
        "upgrade or disable that plugin (ARAGORA_STORAGE_DISABLE_PLUGINS)",
    )


def _isolated_health(impls: list[Any], backend: Any) -> list[Check]:
    """Findings of every ``storage_health`` implementation, each in its own ``try``."""
    checks: list[Check] = []
    for impl in impls:
        try:
            found = impl.function(*[backend for _ in impl.argnames]) or []
            checks.extend(cast("list[Check]", found))
        except Exception as exc:  # isolate: one broken health check is one finding
            checks.append(_raised(f"health check of plugin {impl.plugin_name}", exc))
    return checks


def _trace_before(hook: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Print a hook call and the implementations it will run (in call order)."""
    names = ", ".join(f"{i.plugin_name}:{i.function.__name__}" for i in reversed(list(impls)))
    args = ", ".join(f"{k}={type(v).__name__}" for k, v in kwargs.items())
    sys.stderr.write(f"hook {hook}({args}) -> [{names}]\n")


def _trace_after(outcome: Any, hook: str, impls: Sequence[Any],
                 kwargs: Mapping[str, Any]) -> None:
    """Print what a hook call returned (its type: values may hold secrets) or raised."""
    exception = outcome.exception
    result = (f"raised {type(exception).__name__}" if exception is not None
              else f"returned {type(outcome.get_result()).__name__}")
    sys.stderr.write(f"hook {hook} {result}\n")
