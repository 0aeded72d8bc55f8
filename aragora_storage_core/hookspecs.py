"""Hook specifications of the ``aragora_storage`` plugin system.

A backend plugin implements ``storage_connect`` and whichever of the others it does
differently from the core's built-in implementations (which serve every SQL backend).
Extension plugins wrap any hook with ``@hookimpl(wrapper=True)``. Implementations may
accept fewer arguments than the spec, so specs only ever grow by adding arguments.
Hooks run at connect, migrate, backup, encrypt and health time, never per query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from aragora_storage_core.backend import Backend
    from aragora_storage_core.backup.types import BackupManifest, BackupRequest, RestoreRequest
    from aragora_storage_core.checks import Check
    from aragora_storage_core.encryption.types import EncryptionRequest, EncryptionStatus
    from aragora_storage_core.migrations.types import MigrationReport, MigrationRequest
    from aragora_storage_core.settings import Settings
    from aragora_storage_core.url import StorageURL

PROJECT = "aragora_storage"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def storage_connect(url: StorageURL, settings: Settings) -> Backend | None:
    """Open a backend for ``url`` if this plugin handles its scheme.

    :param url: the selected URL, parsed; ``str(url)`` masks the password.
    :param settings: validated settings from the environment.
    :return: an open :class:`~aragora_storage_core.backend.Backend`, or ``None`` when
        the URL is not this plugin's, so the next plugin is asked.

    Stops at the first non-``None`` result. Raise a
    :class:`~aragora_storage_core.errors.StorageError` (never echoing the password) when
    the URL is yours but cannot be opened.
    """


@hookspec(firstresult=True)
def storage_migrate(backend: Backend, request: MigrationRequest) -> MigrationReport | None:
    """Report on, apply or roll back schema migrations of ``backend``.

    :param backend: the open backend.
    :param request: what to do (status, dry run, migrate, downgrade, create) and where.
    :return: a report, or ``None`` when this plugin does not migrate this backend.

    Stops at the first non-``None`` result. The core implements it for every SQL backend.
    """


@hookspec(firstresult=True)
def storage_backup(backend: Backend, request: BackupRequest) -> BackupManifest | None:
    """Write a backup of ``backend`` into ``request.directory`` and return its manifest.

    :return: the manifest written, or ``None`` when this plugin cannot back up ``backend``.

    Stops at the first non-``None`` result. Wrappers may upload the finished backup.
    """


@hookspec(firstresult=True)
def storage_restore(backend: Backend, request: RestoreRequest) -> BackupManifest | None:
    """Restore ``backend`` from the verified backup in ``request.directory``.

    :return: the manifest restored, or ``None`` when this plugin cannot restore ``backend``.

    Stops at the first non-``None`` result.
    """


@hookspec(firstresult=True)
def storage_encrypt(backend: Backend, request: EncryptionRequest) -> EncryptionStatus | None:
    """Report, apply, change or remove encryption at rest of ``backend``.

    :return: the encryption status after the request, or ``None`` when this plugin does
        not handle encryption for ``backend``.

    Stops at the first non-``None`` result.
    """


@hookspec
def storage_health(backend: Backend) -> list[Check]:  # type: ignore[empty-body]
    """Return health findings about ``backend`` (connectivity, latency, versions, ...).

    Every plugin may add findings; the results of all plugins are concatenated. An
    implementation that raises is reported as a finding of its own.
    """


@hookspec(firstresult=True)
def storage_key(name: str, settings: Settings) -> str | None:
    """Supply the secret key ``name`` (``sqlite`` or ``columns``) from a key provider.

    :return: the key, or ``None`` to let the next provider (and finally the environment
        and key files) answer. Stops at the first non-``None`` result.
    """
