"""The migrations engine and the project's migration files (one folder per database)."""
