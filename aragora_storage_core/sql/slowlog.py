"""The slow-query log: one WARNING per query over ``ARAGORA_SLOW_QUERY_MS``."""

from __future__ import annotations

LOGGER = "aragora_storage.slow_query"


def report(label: str, elapsed: float, threshold: float) -> None:
    """Log one slow query in the seed's format; ``label`` names the operation, not its data.

    ``logging`` is imported here, on the first slow query, not by every process at start.
    """
    import logging

    logging.getLogger(LOGGER).warning("Slow query (%.3fs): %s (threshold: %.3fs)", elapsed,
                                      label, threshold)
