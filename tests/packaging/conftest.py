"""The session's wheelhouse, shared with the plugin tests (built only once)."""

from fixtures.wheelhouse import wheelhouse

__all__ = ["wheelhouse"]
