"""The argument parser class of every command: no abbreviated flags, ever."""

from __future__ import annotations

import argparse
from typing import Any


class StrictParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that refuses abbreviated long flags.

    ``migrate --migrat`` must be an error, not ``--migrate``: a prefix that happens to
    match today may match another flag tomorrow. Sub-parsers made with ``add_subparsers``
    are of the parent's class, so every level of the CLI is strict.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
