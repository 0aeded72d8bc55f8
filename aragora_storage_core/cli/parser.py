"""The argument parser class of every command: no abbreviated flags, ever."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

#: A URL inside argparse's message (it quotes invalid choices and unrecognized arguments).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


class StrictParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that refuses abbreviated long flags.

    ``migrate --migrat`` must be an error, not ``--migrate``: a prefix that happens to
    match today may match another flag tomorrow. Sub-parsers made with ``add_subparsers``
    are of the parent's class, so every level of the CLI is strict.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Exit 2 with ``message``, any URL in it shown as ``doctor`` shows it (no secret).

        argparse echoes the argument it could not place (``invalid choice: 'postgresql://
        app:PASSWORD@...'``, ``unrecognized arguments: --url ...`` after the command).
        """
        super().error(_URL.sub(_shown, message))


def _shown(match: re.Match[str]) -> str:
    from aragora_storage_core.url import parse_url

    try:
        return parse_url(match.group()).render()
    except Exception:  # not a URL we can parse: show only its scheme
        return match.group().split("://", 1)[0] + "://***"
