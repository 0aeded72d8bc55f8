"""Backups: requests, manifests, and the SQLite online-backup path."""
