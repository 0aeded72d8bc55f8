"""Encryption at rest: SQLCipher for SQLite files, Fernet for sensitive columns."""
