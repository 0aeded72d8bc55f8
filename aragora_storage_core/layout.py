"""Where every logical database and table lives: the one mapping table of the project.

Legacy mode keeps one SQLite file per :class:`DatabaseType`; consolidated mode keeps four
(``core.db``, ``memory.db``, ``analytics.db``, ``agents.db``). Paths, consolidation,
schema files and the docs all read :data:`DATABASES` and :data:`TABLES` below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aragora_storage_core.errors import ConfigurationError


class DatabaseMode(StrEnum):
    """SQLite file layout."""

    LEGACY = "legacy"
    CONSOLIDATED = "consolidated"


class ConsolidatedDatabase(StrEnum):
    """The four databases of consolidated mode (and of the PostgreSQL schema files)."""

    CORE = "core"
    MEMORY = "memory"
    ANALYTICS = "analytics"
    AGENTS = "agents"

    @property
    def filename(self) -> str:
        """File name in consolidated mode, e.g. ``core.db``."""
        return f"{self.value}.db"


class DatabaseType(StrEnum):
    """A logical database: one legacy file, one migrations folder, one consolidated home."""

    ELO = "elo"
    CONTINUUM = "continuum"
    CONSENSUS_MEMORY = "consensus_memory"
    AGORA_MEMORY = "agora_memory"
    CALIBRATION = "calibration"
    INSIGHTS = "insights"
    PERSONAS = "personas"
    POSITIONS = "positions"
    GENESIS = "genesis"
    TOKEN_BLACKLIST = "token_blacklist"
    USERS = "users"
    PERSONA_LAB = "persona_lab"
    RELATIONSHIPS = "relationships"
    DEBATES = "debates"
    NOMIC = "nomic"


@dataclass(frozen=True)
class DatabaseInfo:
    """One row of the mapping table: a logical database, its file, home and tables."""

    type: DatabaseType
    legacy_file: str
    home: ConsolidatedDatabase
    tables: tuple[str, ...]
    purpose: str


_C, _M, _AN, _AG = (
    ConsolidatedDatabase.CORE,
    ConsolidatedDatabase.MEMORY,
    ConsolidatedDatabase.ANALYTICS,
    ConsolidatedDatabase.AGENTS,
)

#: The mapping table. Order is the order of consolidation and of schema files.
DATABASES: tuple[DatabaseInfo, ...] = (
    DatabaseInfo(DatabaseType.USERS, "users.db", _C,
                 ("users", "organizations", "audit_log", "usage_events", "usage_monthly",
                  "share_links", "webhooks"), "User/org accounts"),
    DatabaseInfo(DatabaseType.TOKEN_BLACKLIST, "token_blacklist.db", _C,
                 ("token_blacklist",), "JWT revocation store"),
    DatabaseInfo(DatabaseType.DEBATES, "aragora_debates.db", _C,
                 ("debates", "traces", "embeddings"), "Debates, traces, embeddings"),
    DatabaseInfo(DatabaseType.POSITIONS, "grounded_positions.db", _C,
                 ("positions",), "Truth-grounded positions"),
    DatabaseInfo(DatabaseType.NOMIC, "nomic.db", _C,
                 ("nomic_cycles", "debate_artifacts", "stream_events", "agent_metrics",
                  "nomic_rollbacks", "cycle_evolution", "cycle_file_changes"),
                 "Nomic loop cycles, artifacts, events"),
    DatabaseInfo(DatabaseType.CONTINUUM, "continuum.db", _M,
                 ("continuum_memory",), "Continuum memory tiers"),
    DatabaseInfo(DatabaseType.CONSENSUS_MEMORY, "consensus_memory.db", _M,
                 ("consensus",), "Consensus history"),
    DatabaseInfo(DatabaseType.AGORA_MEMORY, "agora_memory.db", _M,
                 ("patterns",), "CritiqueStore patterns (CLI)"),
    DatabaseInfo(DatabaseType.ELO, "agent_elo.db", _AN,
                 ("ratings", "matches", "elo_history"), "Agent ELO rankings"),
    DatabaseInfo(DatabaseType.CALIBRATION, "agent_calibration.db", _AN,
                 ("calibration_predictions",), "Calibration tracking"),
    DatabaseInfo(DatabaseType.INSIGHTS, "aragora_insights.db", _AN,
                 ("insights",), "Insights and analytics"),
    DatabaseInfo(DatabaseType.PERSONAS, "agent_personas.db", _AG,
                 ("personas",), "Personas"),
    DatabaseInfo(DatabaseType.GENESIS, "genesis.db", _AG,
                 ("genomes",), "Genesis ledger / genomes"),
    DatabaseInfo(DatabaseType.PERSONA_LAB, "persona_lab.db", _AG,
                 ("persona_experiments",), "Persona experiments"),
    DatabaseInfo(DatabaseType.RELATIONSHIPS, "agent_relationships.db", _AG,
                 ("relationships",), "Agent relationships"),
)

DATABASE_INFO: Mapping[DatabaseType, DatabaseInfo] = {info.type: info for info in DATABASES}
#: Every table's logical database.
TABLES: Mapping[str, DatabaseType] = {t: info.type for info in DATABASES for t in info.tables}
#: Seed-compatible name -> legacy file name (``aragora.config.legacy.DB_NAMES``).
DB_NAMES: Mapping[str, str] = {info.type.value: info.legacy_file for info in DATABASES}


def get_db_mode(env: Mapping[str, str] | None = None) -> DatabaseMode:
    """Return the SQLite layout chosen by ``ARAGORA_DB_MODE`` (default legacy)."""
    raw = (os.environ if env is None else env).get("ARAGORA_DB_MODE", "").strip().lower()
    if not raw:
        return DatabaseMode.LEGACY
    try:
        return DatabaseMode(raw)
    except ValueError:
        raise ConfigurationError(
            "ARAGORA_DB_MODE must be 'legacy' or 'consolidated'",
            "export ARAGORA_DB_MODE=legacy (or consolidated), or unset it",
        ) from None


def get_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Return the data directory: ``ARAGORA_DATA_DIR``, its aliases, or ``.nomic``."""
    env = os.environ if env is None else env
    for name in ("ARAGORA_DATA_DIR", "ARAGORA_NOMIC_DIR", "NOMIC_DIR"):
        value = env.get(name, "").strip()
        if value:
            return Path(value)
    return Path(".nomic")


def override_variable(db_type: DatabaseType) -> str:
    """Name of the variable that overrides one legacy file's path, e.g. ``ARAGORA_DB_ELO``."""
    return f"ARAGORA_DB_{db_type.name}"


def file_for(db_type: DatabaseType, mode: DatabaseMode) -> str:
    """File name holding ``db_type`` in ``mode``."""
    info = DATABASE_INFO[db_type]
    return info.legacy_file if mode is DatabaseMode.LEGACY else info.home.filename


def get_db_path(
    db_type: DatabaseType | str,
    nomic_dir: str | Path | None = None,
    mode: DatabaseMode | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Path of the SQLite file that holds ``db_type`` (seed-compatible).

    ``nomic_dir`` and ``mode`` default to ``ARAGORA_DATA_DIR`` and ``ARAGORA_DB_MODE``.
    In legacy mode ``ARAGORA_DB_<NAME>`` (e.g. ``ARAGORA_DB_USERS``) overrides one file.
    """
    env = os.environ if env is None else env
    db_type = DatabaseType(db_type)
    resolved_mode = DatabaseMode(mode) if mode is not None else get_db_mode(env)
    if resolved_mode is DatabaseMode.LEGACY:
        override = env.get(override_variable(db_type), "").strip()
        if override:
            return Path(override)
    base = Path(nomic_dir) if nomic_dir is not None else get_data_dir(env)
    return base / file_for(db_type, resolved_mode)
