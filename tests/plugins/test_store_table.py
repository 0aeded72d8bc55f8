"""The one store table: every row's SQL implementation implements its protocol, and the
plugins' own store maps are keyed by the table's kinds and implement the same protocols."""

from __future__ import annotations

import pytest

from aragora_storage_core.backend import SQLBackend
from aragora_storage_core.stores.protocols import StoreKind
from aragora_storage_core.stores.table import STORE_TABLE, STORES, StoreSpec, kind_of


def test_the_table_has_one_row_per_kind_and_protocol() -> None:
    assert [spec.kind for spec in STORE_TABLE] == list(StoreKind)
    assert len({spec.protocol for spec in STORE_TABLE}) == len(STORE_TABLE)
    assert all(kind_of(spec.protocol) is spec.kind for spec in STORE_TABLE)


@pytest.mark.parametrize("spec", [s for s in STORE_TABLE if s.sql_implementation],
                         ids=lambda spec: spec.kind.value)
def test_sql_implementation_implements_its_protocol(spec: StoreSpec) -> None:
    assert spec.database is not None
    assert issubclass(spec.sql_class(), spec.protocol)
    assert spec.kind in SQLBackend.stores_served


def test_a_store_without_sql_implementation_is_not_served_by_sql() -> None:
    assert StoreKind.CACHE not in SQLBackend.stores_served
    with pytest.raises(LookupError, match="cache"):
        STORES[StoreKind.CACHE].sql_class()


def test_redis_store_classes_are_keyed_by_the_table_and_implement_its_protocols() -> None:
    from aragora_storage_redis.backend import RedisBackend
    from aragora_storage_redis.stores import STORE_CLASSES

    assert set(STORE_CLASSES) == set(RedisBackend.stores_served)
    for kind, cls in STORE_CLASSES.items():
        assert issubclass(cls, STORES[kind].protocol), cls.__name__
