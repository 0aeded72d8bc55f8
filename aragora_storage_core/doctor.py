"""Everything ``aragora-storage doctor`` checks, as a list of findings.

Each finding has an id (``storage.E001``), a level, one line and a hint naming the
command that fixes it. Collecting findings never raises for a problem it can report.
"""

from __future__ import annotations

from typing import Any

from aragora_storage_core.backend import Backend
from aragora_storage_core.beside import lost_data_finding
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.encryption.checks import SWITCH_MISMATCH
from aragora_storage_core.errors import (
    DiskFullError,
    EncryptedDatabaseError,
    LockedError,
    NotWritableError,
    PlainDatabaseError,
    StorageError,
    WrongKeyError,
)
from aragora_storage_core.records import dataclass, field, replace
from aragora_storage_core.registry import REDIS_ROUTED, SUPABASE_ROUTED, Registry
from aragora_storage_core.selection import Selection
from aragora_storage_core.settings import Settings
from aragora_storage_core.stores.protocols import StoreKind


@dataclass
class Diagnosis:
    """The doctor's result: what is configured and what is wrong."""

    selection: Selection | None = None
    backend: dict[str, Any] | None = None
    redis: dict[str, Any] | None = None
    supabase: dict[str, Any] | None = None
    routing: dict[str, str] = field(default_factory=dict)
    plugins: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Check] = field(default_factory=list)
    #: Ids left out because ``ARAGORA_STORAGE_SILENCED_CHECKS`` names them.
    silenced: list[str] = field(default_factory=list)

    def worst(self) -> Level:
        """The highest level among the findings (``DEBUG`` when there are none)."""
        return max((f.level for f in self.findings), default=Level.DEBUG)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; URLs are masked, secrets absent."""
        return {
            "selection": self.selection.to_dict() if self.selection else None,
            "backend": self.backend,
            "redis": self.redis,
            "supabase": self.supabase,
            "routing": self.routing,
            "plugins": self.plugins,
            "findings": [f.to_dict() for f in self.findings],
            "silenced": self.silenced,
        }


#: Finding ids that name one root cause (the same hint means the same cause, whichever
#: check or file found it): reported once.
ROOT_CAUSES = frozenset(error.code for error in (
    NotWritableError, DiskFullError, LockedError, EncryptedDatabaseError, WrongKeyError,
    PlainDatabaseError))
#: Key errors of files, left out when a SWITCH_MISMATCH finding names their cause.
KEY_ERRORS = frozenset(error.code for error in (
    EncryptedDatabaseError, PlainDatabaseError, WrongKeyError))


def _error_finding(error: StorageError) -> Check:
    return Check(error.code, Level.ERROR, error.message, error.hint)


def diagnose(env: dict[str, str] | None = None, url: str | None = None) -> Diagnosis:
    """Check settings, selection, plugins, connectivity, health and schema."""
    diagnosis = Diagnosis()
    try:
        settings = replace(Settings.from_env(env), read_only=True, auto_migrate=False)
        registry = Registry(settings)
        diagnosis.selection = registry.explain(url)
    except StorageError as error:
        diagnosis.findings.append(_error_finding(error))
        return diagnosis
    try:
        _diagnose_with(registry, diagnosis, url)
    finally:
        registry.close()
    silenced = settings.silenced_checks
    diagnosis.silenced = sorted({f.id for f in diagnosis.findings if f.id in silenced})
    diagnosis.findings = [f for f in diagnosis.findings if f.id not in silenced]
    return diagnosis


def _diagnose_with(registry: Registry, diagnosis: Diagnosis, url: str | None) -> None:
    selection = diagnosis.selection
    assert selection is not None
    for warning in selection.warnings:
        diagnosis.findings.append(Check("storage.W014", Level.WARNING, warning,
                                        "unset the alias or make both the same"))
    for record in registry.plugins():
        diagnosis.plugins.append(record.to_dict())
        if record.status == "failed":
            diagnosis.findings.append(Check(
                "storage.W015", Level.WARNING,
                f"plugin {record.name} ({record.distribution}) failed to load: {record.error}",
                f"reinstall it, or ARAGORA_STORAGE_DISABLE_PLUGINS={record.name}"))
        elif record.status == "incompatible":
            diagnosis.findings.append(Check(
                "storage.W018", Level.WARNING,
                f"plugin {record.name} ({record.distribution} {record.version}) is not loaded:"
                f" {record.error}",
                f"install a version of {record.distribution} built for this aragora-storage,"
                f" or ARAGORA_STORAGE_DISABLE_PLUGINS={record.name}"))
    backend = _open(registry, diagnosis, selection.url, selection.source)
    if backend is None:
        return
    diagnosis.backend = backend.describe()
    if registry.settings.replica_urls and "replicas" not in diagnosis.backend:
        diagnosis.findings.append(Check(
            "storage.W017", Level.WARNING,
            f"DATABASE_REPLICA_URLS is set, but the {backend.name} backend selected by"
            f" {selection.source} reads from no replicas: they are not used",
            "point DATABASE_URL at the PostgreSQL primary, or unset DATABASE_REPLICA_URLS"))
    redis = supabase = None
    if selection.redis_url is not None:
        redis = _open(registry, diagnosis, selection.redis_url, selection.redis_source or "")
        diagnosis.redis = redis.describe() if redis else None
    if selection.supabase_url is not None:
        supabase = _open(registry, diagnosis, selection.supabase_url, "SUPABASE_URL")
        diagnosis.supabase = supabase.describe() if supabase else None
    diagnosis.routing = _routing(backend, [
        (redis, REDIS_ROUTED, selection.redis_url is not None, "redis"),
        (supabase, SUPABASE_ROUTED, selection.supabase_url is not None, "supabase")])
    if redis is not None and redis.url != backend.url:
        try:
            lost = lost_data_finding(backend, redis)
        except StorageError as error:
            lost = _error_finding(error)
        if lost is not None:
            diagnosis.findings.append(lost)
    seen: set[tuple[str, str]] = set()
    for opened in filter(None, (backend, redis, supabase)):
        for finding in registry.host.collect_health(opened):
            # settings-wide findings (keys, stray files) come once, not once per backend;
            # a root cause found by several checks (or in several files) comes once too
            key = (finding.id, finding.hint if finding.id in ROOT_CAUSES else finding.message)
            if key not in seen:
                seen.add(key)
                diagnosis.findings.append(finding)
    if SWITCH_MISMATCH & {finding.id for finding in diagnosis.findings}:
        diagnosis.findings = [f for f in diagnosis.findings if f.id not in KEY_ERRORS]


def _routing(primary: Backend, beside: list[tuple[Backend | None, frozenset[StoreKind],
                                                  bool, str]]) -> dict[str, str]:
    """``{store: backend name}`` as :meth:`Registry.route` routes; a backend set beside
    but unreachable shows as ``<name> (unreachable)``: those stores fail, as in the app."""
    routing: dict[str, str] = {}
    kinds = set(primary.stores_served)
    for other, _, _, _ in beside:
        kinds |= other.stores_served if other is not None else frozenset()
    for kind in sorted(kinds):
        routing[kind.value] = primary.name
    for other, routed, configured, name in reversed(beside):  # the first one listed wins
        for kind in sorted(routed):
            if other is not None and other.serves(kind):
                routing[kind.value] = other.name
            elif configured and other is None:
                routing[kind.value] = f"{name} (unreachable)"
    return routing


def _open(registry: Registry, diagnosis: Diagnosis, url: Any, source: str) -> Backend | None:
    try:
        return registry.connect(url, source)
    except StorageError as error:
        diagnosis.findings.append(_error_finding(error))
        return None
