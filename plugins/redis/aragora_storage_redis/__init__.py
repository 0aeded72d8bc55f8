"""The redis backend of aragora-storage (work in progress: see the project's issues)."""
