"""The conformance kit against the real MariaDB: every relational store, migrations,
health and backup, through the example plugin written only against the plugin API."""

from __future__ import annotations

import pytest

from aragora_storage_core.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.mariadb
