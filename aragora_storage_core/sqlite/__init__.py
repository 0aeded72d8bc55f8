"""SQLite machinery shared by the SQLite backend, the seed-compatible API and the tools."""
