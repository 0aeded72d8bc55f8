"""Noticing that a backend beside the primary (Redis) lost its data between two commands.

A Redis without persistence that restarts comes back empty: the token blacklist with it,
so revoked tokens are valid again. A running process notices the new ``run_id``; a new
``doctor`` process cannot, so the primary remembers a marker: ``migrate --migrate``
writes a random token into Redis and the same token into the primary. When Redis no
longer holds the token the primary remembers, its data was lost since.
"""

from __future__ import annotations

from aragora_storage_core.backend import Backend
from aragora_storage_core.checks import Check, Level
from aragora_storage_core.stores.protocols import StoreKind


def marker_name(beside: Backend) -> str:
    """The name the primary remembers ``beside``'s marker under (no password)."""
    return f"{beside.name} data set at {beside.url}"


def record_marker(primary: Backend, beside: Backend) -> str | None:
    """Make the primary and ``beside`` share a fresh marker unless they already agree.

    Returns a line for the user when ``beside`` had lost the marker recorded before.
    """
    name = marker_name(beside)
    remembered = primary.remembered(name)
    current = beside.marker()
    if remembered is not None and current == remembered[0]:
        return None
    token = beside.renew_marker()
    if token is None or not primary.remember(name, token):
        return None
    if remembered is None:
        return None
    return (f"{name} had lost its data since {remembered[1]}; recorded its new state "
            "(revoked tokens from before that are no longer revoked)")


def lost_data_finding(primary: Backend, beside: Backend) -> Check | None:
    """A warning when ``beside`` no longer holds the marker the primary remembers."""
    if StoreKind.TOKEN_BLACKLIST not in beside.stores_served:
        return None
    name = marker_name(beside)
    remembered = primary.remembered(name)
    if remembered is None or beside.marker() == remembered[0]:
        return None
    return Check(
        "storage.W117", Level.WARNING,
        f"{name} lost its data since {remembered[1]} (the marker recorded then is gone: a "
        "restart without persistence, or a flush): the token blacklist is empty, revoked "
        "tokens are valid again",
        "revoke live sessions (rotate the token signing key), enable Redis persistence, "
        "then run aragora-storage migrate --migrate to record the new state")
