"""Timestamps reach the stores as one text form: ISO-8601, UTC, microseconds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aragora_storage_core.models import to_iso


@pytest.mark.parametrize("given", [
    "2024-06-01T09:30:00+00:00", "2024-06-01T11:30:00+02:00", "2024-06-01T04:30:00-05:00",
    "2024-06-01T09:30:00Z", "2024-06-01 09:30:00", "2024-06-01T09:30:00.000000+00:00",
    datetime(2024, 6, 1, 9, 30),
    datetime(2024, 6, 1, 15, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
])
def test_every_spelling_of_one_instant_is_stored_alike(given: str | datetime) -> None:
    assert to_iso(given) == "2024-06-01T09:30:00.000000+00:00"


def test_no_timestamp_stays_none_and_garbage_is_refused() -> None:
    assert to_iso(None) is None and to_iso("") is None
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        to_iso("yesterday")
