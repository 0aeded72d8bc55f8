"""What ``storage_encrypt`` takes and returns."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from aragora_storage_core.records import dataclass, field


class EncryptionAction(StrEnum):
    """What an encryption request asks for."""

    STATUS = "status"
    ENCRYPT = "encrypt"
    REKEY = "rekey"
    DECRYPT = "decrypt"


@dataclass(frozen=True)
class EncryptionRequest:
    """An encryption action.

    ``new_key`` is the passphrase for ``rekey`` (never logged or shown); ``directory``
    is where ``decrypt`` writes plain copies; ``progress`` (a
    :class:`~aragora_storage_core.progress.Progress`) is advanced once per database.
    """

    action: EncryptionAction
    new_key: str | None = field(default=None, repr=False)
    directory: Path | None = None
    progress: Any = field(default=None, repr=False, compare=False)


@dataclass
class EncryptionStatus:
    """Per database label: is it encrypted at rest, and which ones this request changed.

    ``encrypted`` lists the files that exist; ``changed`` the labels the request
    converted (encrypted, re-keyed, or exported in plain); ``written`` the files written.
    """

    encrypted: dict[str, bool] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"encrypted": self.encrypted, "changed": self.changed,
                "written": [str(p) for p in self.written]}
