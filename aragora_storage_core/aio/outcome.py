"""What a cancelled or timed-out store call did: applied, not applied, or unknown."""

from __future__ import annotations

from enum import StrEnum


class WriteOutcome(StrEnum):
    """Whether the changes of a cancelled store call reached the database."""

    #: Nothing was committed: the transaction rolled back, or never started.
    NOT_APPLIED = "not applied"
    #: The commit completed before the cancellation took effect.
    APPLIED = "applied"
    #: The commit was in flight (or the call was past the point of no return): the
    #: change may or may not be there; read it back before retrying a non-idempotent write.
    UNKNOWN = "may have been applied"


_ATTRIBUTE = "aragora_write_outcome"


def mark(exc: BaseException, outcome: WriteOutcome) -> None:
    """Record ``outcome`` on the cancellation ``exc`` (an attribute and a note)."""
    setattr(exc, _ATTRIBUTE, outcome)
    exc.add_note(f"aragora-storage: the cancelled store call {outcome.value}")


def write_outcome(exc: BaseException) -> WriteOutcome | None:
    """What the cancelled store call behind ``exc`` did, or ``None`` if none is recorded.

    ``exc`` is the ``CancelledError`` a task saw, or the ``TimeoutError`` of
    ``asyncio.timeout`` (the cancellation is its cause); the chain is searched.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        outcome = getattr(current, _ATTRIBUTE, None)
        if isinstance(outcome, WriteOutcome):
            return outcome
        current = current.__cause__ or current.__context__
    return None
