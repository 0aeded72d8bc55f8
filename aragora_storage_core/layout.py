"""Where every logical database and table lives: the one mapping table of the project.

Legacy mode keeps one SQLite file per :class:`DatabaseType`; consolidated mode keeps four
(``core.db``, ``memory.db``, ``analytics.db``, ``agents.db``). Paths, consolidation,
schema files and the docs all read :data:`DATABASES` and :data:`TABLES` below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from aragora_storage_core.errors import ConfigurationError
from aragora_storage_core.records import dataclass


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
    """A logical database of the application (``aragora.persistence.db_config``).

    The 25 members of the application, plus the account databases the seed names
    (``users.db``, ``token_blacklist.db``), ``debate_metadata`` (``aragora_debates.db``,
    which the application's consolidation reads without naming a type for it) and
    ``nomic`` (the seed's nomic-loop tables).
    """

    DEBATES = "debates"
    TRACES = "traces"
    TOURNAMENTS = "tournaments"
    EMBEDDINGS = "embeddings"
    POSITIONS = "positions"
    CONTINUUM_MEMORY = "continuum_memory"
    AGENT_MEMORIES = "agent_memories"
    CONSENSUS_MEMORY = "consensus_memory"
    AGORA_MEMORY = "agora_memory"
    SEMANTIC_PATTERNS = "semantic_patterns"
    SUGGESTION_FEEDBACK = "suggestion_feedback"
    ELO = "elo"
    CALIBRATION = "calibration"
    INSIGHTS = "insights"
    PROMPT_EVOLUTION = "prompt_evolution"
    META_LEARNING = "meta_learning"
    PERSONAS = "personas"
    RELATIONSHIPS = "relationships"
    LABORATORY = "laboratory"
    TRUTH_GROUNDING = "truth_grounding"
    GENESIS = "genesis"
    GENOMES = "genomes"
    EVOLUTION = "evolution"
    BILLING = "billing"
    ONBOARDING = "onboarding"
    USERS = "users"
    TOKEN_BLACKLIST = "token_blacklist"
    DEBATE_METADATA = "debate_metadata"
    NOMIC = "nomic"


class Naming(StrEnum):
    """Which name a table has where it lives.

    ``LEGACY``: in its legacy file (``continuum.db`` holds ``memories``);
    ``CONSOLIDATED``: in its consolidated file (``memory.db`` holds ``continuum_memory``);
    ``SHARED``: in one database holding every table (PostgreSQL, one SQLite file), where
    names must not clash (``memory.db``'s ``debates`` is ``critique_debates`` there).
    """

    LEGACY = "legacy"
    CONSOLIDATED = "consolidated"
    SHARED = "shared"


@dataclass(frozen=True)
class TableInfo:
    """One table: its name in the consolidated home, in its legacy file, in a shared one."""

    name: str
    legacy_name: str = ""
    shared_name: str = ""

    def named(self, naming: Naming) -> str:
        """The table's name under ``naming``."""
        if naming is Naming.LEGACY:
            return self.legacy_name or self.name
        if naming is Naming.SHARED:
            return self.shared_name or self.name
        return self.name


@dataclass(frozen=True)
class DatabaseInfo:
    """One row of the mapping table: a legacy file, its home, tables and logical types.

    ``type`` names the migrations folder and ``--db``; ``also`` lists further types the
    application stores in the same file (``GENOMES`` in ``genesis.db``).
    """

    type: DatabaseType
    legacy_file: str
    home: ConsolidatedDatabase
    tables: tuple[TableInfo, ...]
    purpose: str
    also: tuple[DatabaseType, ...] = ()

    @property
    def table_names(self) -> tuple[str, ...]:
        """The tables' names in the consolidated home, in order."""
        return tuple(t.name for t in self.tables)

    def names(self, naming: Naming) -> dict[str, str]:
        """Consolidated name -> name under ``naming``, for tables whose name differs."""
        return {t.name: t.named(naming) for t in self.tables if t.named(naming) != t.name}


def _t(*names: str) -> tuple[TableInfo, ...]:
    return tuple(TableInfo(n) for n in names)


_C, _M, _AN, _AG = (
    ConsolidatedDatabase.CORE,
    ConsolidatedDatabase.MEMORY,
    ConsolidatedDatabase.ANALYTICS,
    ConsolidatedDatabase.AGENTS,
)
_T = DatabaseType

#: The mapping table. Order is the order of consolidation and of schema files.
DATABASES: tuple[DatabaseInfo, ...] = (
    DatabaseInfo(_T.USERS, "users.db", _C,
                 _t("users", "organizations", "audit_log", "usage_events", "usage_monthly",
                    "share_links", "webhooks"), "User/org accounts"),
    DatabaseInfo(_T.TOKEN_BLACKLIST, "token_blacklist.db", _C,
                 _t("token_blacklist"), "JWT revocation store"),
    DatabaseInfo(_T.NOMIC, "nomic.db", _C,
                 _t("nomic_cycles", "debate_artifacts", "stream_events", "agent_metrics",
                    "nomic_rollbacks", "cycle_evolution", "cycle_file_changes"),
                 "Nomic loop cycles, artifacts, events"),
    DatabaseInfo(_T.DEBATES, "debates.db", _C, _t("debates"), "Debates"),
    DatabaseInfo(_T.DEBATE_METADATA, "aragora_debates.db", _C, _t("debate_metadata"),
                 "Debate configuration metadata"),
    DatabaseInfo(_T.TRACES, "traces.db", _C, _t("traces", "trace_events"), "Debate traces"),
    DatabaseInfo(_T.TOURNAMENTS, "tournaments.db", _C,
                 _t("tournaments", "tournament_matches"), "Tournaments"),
    DatabaseInfo(_T.EMBEDDINGS, "debate_embeddings.db", _C, _t("embeddings"),
                 "Debate embeddings"),
    DatabaseInfo(_T.POSITIONS, "grounded_positions.db", _C,
                 _t("positions", "detected_flips"), "Truth-grounded positions"),
    DatabaseInfo(_T.EVOLUTION, "evolution.db", _C, (), "Prompt evolution runs"),
    DatabaseInfo(_T.ONBOARDING, "onboarding.db", _C, (), "Onboarding state"),
    DatabaseInfo(_T.CONTINUUM_MEMORY, "continuum.db", _M,
                 (TableInfo("continuum_memory", "memories"), TableInfo("tier_transitions"),
                  TableInfo("continuum_memory_archive", "archive"),
                  TableInfo("meta_learning_state")), "Continuum memory tiers"),
    DatabaseInfo(_T.AGENT_MEMORIES, "agent_memories.db", _M,
                 _t("memories", "reflection_schedule"), "Agent memories"),
    DatabaseInfo(_T.CONSENSUS_MEMORY, "consensus_memory.db", _M, _t("consensus", "dissent"),
                 "Consensus history"),
    DatabaseInfo(_T.AGORA_MEMORY, "agora_memory.db", _M,
                 (TableInfo("debates", shared_name="critique_debates"),
                  *_t("critiques", "patterns", "patterns_archive", "pattern_embeddings",
                      "agent_reputation")), "CritiqueStore patterns (CLI)"),
    DatabaseInfo(_T.SEMANTIC_PATTERNS, "semantic_patterns.db", _M,
                 (TableInfo("semantic_embeddings", "embeddings"),), "Semantic patterns"),
    DatabaseInfo(_T.SUGGESTION_FEEDBACK, "suggestion_feedback.db", _M,
                 _t("suggestion_injections", "contributor_stats"), "Suggestion feedback"),
    DatabaseInfo(_T.ELO, "agent_elo.db", _AN,
                 _t("ratings", "matches", "elo_history", "calibration_predictions"),
                 "Agent ELO rankings"),
    DatabaseInfo(_T.CALIBRATION, "agent_calibration.db", _AN,
                 _t("domain_calibration", "calibration_buckets", "predictions",
                    "temperature_params"), "Calibration tracking"),
    DatabaseInfo(_T.INSIGHTS, "aragora_insights.db", _AN,
                 _t("insights", "debate_summaries", "pattern_clusters",
                    "agent_performance_history"), "Insights and analytics"),
    DatabaseInfo(_T.PROMPT_EVOLUTION, "prompt_evolution.db", _AN,
                 _t("prompt_versions", "evolution_history", "extracted_patterns"),
                 "Prompt versions"),
    DatabaseInfo(_T.META_LEARNING, "meta_learning.db", _AN,
                 _t("meta_hyperparams", "meta_efficiency_log"), "Meta-learning"),
    DatabaseInfo(_T.BILLING, "billing.db", _AN, (), "Billing"),
    DatabaseInfo(_T.PERSONAS, "agent_personas.db", _AG,
                 _t("personas", "performance_history"), "Personas"),
    DatabaseInfo(_T.RELATIONSHIPS, "agent_relationships.db", _AG,
                 (TableInfo("agent_relationships", "relationships"),), "Agent relationships"),
    DatabaseInfo(_T.TRUTH_GROUNDING, "aragora_positions.db", _AG,
                 _t("position_history", "debate_outcomes"), "Position history, outcomes"),
    DatabaseInfo(_T.LABORATORY, "persona_lab.db", _AG,
                 _t("experiments", "emergent_traits", "trait_transfers",
                    "agent_evolution_history"), "Persona experiments"),
    DatabaseInfo(_T.GENESIS, "genesis.db", _AG,
                 _t("genomes", "populations", "active_population", "genesis_events"),
                 "Genesis ledger / genomes", also=(_T.GENOMES,)),
)

#: Every logical database's row (``GENOMES`` shares ``GENESIS``'s).
DATABASE_INFO: Mapping[DatabaseType, DatabaseInfo] = {
    t: info for info in DATABASES for t in (info.type, *info.also)
}
#: Every table under its shared name (unique over the layout) -> its logical database.
TABLES: Mapping[str, DatabaseType] = {
    t.named(Naming.SHARED): info.type for info in DATABASES for t in info.tables
}
#: Legacy file names the layout knows.
LEGACY_FILES: frozenset[str] = frozenset(info.legacy_file for info in DATABASES)
#: ``aragora.config.legacy.DB_NAMES``: the application's short names -> legacy file.
DB_NAMES: Mapping[str, str] = {
    "elo": "agent_elo.db",
    "memory": "continuum.db",
    "insights": "aragora_insights.db",
    "consensus": "consensus_memory.db",
    "calibration": "agent_calibration.db",
    "lab": "persona_lab.db",
    "personas": "agent_personas.db",
    "positions": "grounded_positions.db",
    "genesis": "genesis.db",
    "blacklist": "token_blacklist.db",
}


def naming_for(mode: DatabaseMode) -> Naming:
    """How tables are named in the files of ``mode``."""
    return Naming.LEGACY if mode is DatabaseMode.LEGACY else Naming.CONSOLIDATED


@dataclass(frozen=True)
class FilesOnDisk:
    """The layout files found in a data directory, and the mode they choose."""

    legacy: tuple[str, ...]
    consolidated: tuple[str, ...]

    @property
    def mode(self) -> DatabaseMode:
        """Consolidated when only consolidated files are there; else the seed's legacy."""
        if self.consolidated and not self.legacy:
            return DatabaseMode.CONSOLIDATED
        return DatabaseMode.LEGACY

    @property
    def mixed(self) -> bool:
        """Both kinds are present: legacy stands, and ``doctor`` warns."""
        return bool(self.legacy and self.consolidated)

    def reason(self, directory: Path) -> str:
        """Why :attr:`mode` was chosen, for ``explain()`` and ``doctor``."""
        if self.mode is DatabaseMode.CONSOLIDATED:
            return (f"ARAGORA_DB_MODE unset and {directory} holds consolidated files only"
                    f" ({', '.join(self.consolidated)}): the files found chose consolidated")
        if self.mixed:
            return (f"ARAGORA_DB_MODE unset and {directory} holds both legacy and"
                    " consolidated files: the seed's default, legacy, stands")
        return f"nothing set: embedded SQLite, legacy mode, under {directory}"


def files_on_disk(directory: Path) -> FilesOnDisk:
    """Which legacy and consolidated files of the layout exist in ``directory``."""
    try:
        present = {p.name for p in directory.iterdir() if p.is_file()}
    except OSError:
        present = set()
    return FilesOnDisk(
        tuple(sorted(present & LEGACY_FILES)),
        tuple(h.filename for h in ConsolidatedDatabase if h.filename in present),
    )


def get_db_mode(env: Mapping[str, str] | None = None) -> DatabaseMode:
    """The SQLite layout: ``ARAGORA_DB_MODE``; unset, the files in the data directory.

    With the variable unset, a data directory holding consolidated files and no legacy
    ones is consolidated; anything else is the seed's default, legacy.
    """
    env = os.environ if env is None else env
    raw = env.get("ARAGORA_DB_MODE", "").strip().lower()
    if not raw:
        return files_on_disk(get_data_dir(env)).mode
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

    ``nomic_dir`` and ``mode`` default to ``ARAGORA_DATA_DIR`` and ``ARAGORA_DB_MODE``
    (unset: the files in the directory decide, see :func:`get_db_mode`). In legacy mode
    ``ARAGORA_DB_<NAME>`` (e.g. ``ARAGORA_DB_USERS``) overrides one file; types sharing a
    file (``GENOMES`` in ``genesis.db``) share its variable (``ARAGORA_DB_GENESIS``).
    """
    env = os.environ if env is None else env
    db_type = DatabaseType(db_type)
    base = Path(nomic_dir) if nomic_dir is not None else get_data_dir(env)
    if mode is not None:
        resolved_mode = DatabaseMode(mode)
    elif env.get("ARAGORA_DB_MODE", "").strip():
        resolved_mode = get_db_mode(env)
    else:
        resolved_mode = files_on_disk(base).mode
    if resolved_mode is DatabaseMode.LEGACY:
        override = env.get(override_variable(DATABASE_INFO[db_type].type), "").strip()
        if override:
            return Path(override)
    return base / file_for(db_type, resolved_mode)
