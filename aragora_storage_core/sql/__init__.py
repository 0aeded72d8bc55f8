"""The shared SQL store layer used by every DB-API backend (SQLite, PostgreSQL)."""
