"""``aragora-storage maintenance`` on the active backend: counts printed, data pruned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aragora_storage_core.models import AuditEntry, Organization, ShareLink, UsageEvent
from aragora_storage_core.registry import Registry
from aragora_storage_core.stores.protocols import StoreKind


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")


@pytest.fixture
def aged_data(data_dir: Path) -> Registry:
    """Old and fresh rows in every store maintenance touches."""
    registry = Registry()
    registry.store(StoreKind.ORGANIZATIONS).create(Organization(id="o", name="O", slug="o"))
    registry.store(StoreKind.AUDIT).log_many([
        AuditEntry(action="old", timestamp=days_ago(200)),
        AuditEntry(action="older", timestamp=days_ago(100)),
        AuditEntry(action="new", timestamp=days_ago(1)),
    ])
    registry.store(StoreKind.USAGE).record_many([
        UsageEvent(org_id="o", event_type="debate", count=2, timestamp=days_ago(120)),
        UsageEvent(org_id="o", event_type="debate", count=5, timestamp=days_ago(2)),
    ])
    tokens = registry.store(StoreKind.TOKEN_BLACKLIST)
    tokens.revoke("gone", datetime.now(UTC) - timedelta(hours=1))
    tokens.revoke("live", datetime.now(UTC) + timedelta(hours=1))
    registry.store(StoreKind.SHARE_LINKS).create(
        ShareLink(token="t-old", debate_id="d", expires_at=days_ago(1)))
    registry.store(StoreKind.SHARE_LINKS).create(ShareLink(token="t-new", debate_id="d"))
    return registry


def test_maintenance_prunes_with_the_retention_settings_and_prints_counts(
        aged_data: Registry, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARAGORA_AUDIT_RETENTION_DAYS", "150")
    result = cli("maintenance")
    assert result.code == 0, result.err
    lines = {line.split()[0]: int(line.split()[1]) for line in result.out.splitlines()}
    assert lines == {"audit": 1, "usage": 1, "token_blacklist": 1, "share_links": 1}
    audit = aged_data.store(StoreKind.AUDIT).query(limit=10)
    assert sorted(e.action for e in audit) == ["new", "older"]
    usage = aged_data.store(StoreKind.USAGE)
    assert sum(usage.monthly_totals("o").values()) == 7
    assert aged_data.store(StoreKind.TOKEN_BLACKLIST).is_revoked("live")
    assert aged_data.store(StoreKind.SHARE_LINKS).get("t-old") is None
    assert aged_data.store(StoreKind.SHARE_LINKS).get("t-new") is not None


def test_maintenance_flags_override_the_settings_and_json_reports_counts(
        aged_data: Registry, cli: Any) -> None:
    result = cli("maintenance", "--audit-days", "30", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["audit"] == 2


def test_maintenance_rejects_a_retention_below_one_day(data_dir: Path, cli: Any) -> None:
    result = cli("maintenance", "--audit-days", "0")
    assert result.code == 2
    assert result.err.splitlines() == ["error: --audit-days must be from 1 to 36500",
                                       "hint: e.g. --audit-days 90"]
    assert not data_dir.exists()


@pytest.mark.parametrize("days", ["99999999999", "36501"])
def test_maintenance_rejects_a_retention_flag_past_a_hundred_years(
        data_dir: Path, cli: Any, days: str) -> None:
    result = cli("maintenance", "--usage-days", days)
    assert result.code == 2
    assert result.err.splitlines() == ["error: --usage-days must be from 1 to 36500",
                                       "hint: e.g. --usage-days 90"]
    assert not data_dir.exists()


@pytest.mark.parametrize("value", ["nan", "inf", "99999999999"])
def test_maintenance_rejects_a_retention_setting_that_is_no_number_of_days(
        aged_data: Registry, cli: Any, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ARAGORA_AUDIT_RETENTION_DAYS", value)
    result = cli("maintenance")
    assert result.code == 2
    assert result.err.splitlines()[0].startswith("error: ARAGORA_AUDIT_RETENTION_DAYS must be")
    assert len(result.err.splitlines()) == 2
    monkeypatch.delenv("ARAGORA_AUDIT_RETENTION_DAYS")
    assert len(aged_data.store(StoreKind.AUDIT).query(limit=10)) == 3


def table_counts(data_dir: Path) -> dict[str, int]:
    """Rows of every table of every database file in ``data_dir``."""
    import sqlite3
    counts = {}
    for path in sorted(data_dir.glob("*.db")):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                counts[f"{path.name}:{table}"] = conn.execute(
                    f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            conn.close()
    return counts


def test_maintenance_dry_run_counts_per_table_and_changes_nothing(
        aged_data: Registry, data_dir: Path, cli: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARAGORA_AUDIT_RETENTION_DAYS", "150")
    before = table_counts(data_dir)
    result = cli("maintenance", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "audit                   1  audit_log: entries past retention would be deleted",
        "usage                   1  usage_events: events would be folded into usage_monthly",
        "token_blacklist         1  token_blacklist: expired revoked tokens would be dropped",
        "share_links             1  share_links: expired share links would be deleted",
        "dry run: nothing was changed"]
    assert table_counts(data_dir) == before
    assert json.loads(cli("maintenance", "--dry-run", "--json").out) == {
        "audit": 1, "usage": 1, "token_blacklist": 1, "share_links": 1}
    assert table_counts(data_dir) == before
    applied = cli("maintenance", "--json")
    assert json.loads(applied.out) == {"audit": 1, "usage": 1, "token_blacklist": 1,
                                       "share_links": 1}
    assert table_counts(data_dir) != before
