"""What ``storage_encrypt`` takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EncryptionAction(StrEnum):
    """What an encryption request asks for."""

    STATUS = "status"
    ENCRYPT = "encrypt"
    REKEY = "rekey"
    DECRYPT = "decrypt"


@dataclass(frozen=True)
class EncryptionRequest:
    """An encryption action; ``new_key`` for ``rekey``, never logged or shown."""

    action: EncryptionAction
    new_key: str | None = field(default=None, repr=False)


@dataclass
class EncryptionStatus:
    """Per database label: is it encrypted at rest."""

    encrypted: dict[str, bool] = field(default_factory=dict)
