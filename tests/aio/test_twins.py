"""Coroutine twins: made only for methods whose one way to the database is the reads
they await, and behaving like the method they come from."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import pytest

from aragora_storage_core.aio.twins import read_twin
from aragora_storage_core.sql.stores.accounts import SQLUserStore


def user_row(name: str) -> dict[str, str]:
    return {"name": name}


def helper(store: Any) -> Any:
    return store


def decorated(function: Any) -> Any:
    return function


class Reads:
    """A database with the coroutine reads twins await, recording what was asked."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    async def afetch_one(self, sql: str, params: tuple[Any, ...] = (),
                         label: str = "") -> tuple[Any, ...] | None:
        self.asked.append((sql, params))
        await asyncio.sleep(0)
        return self.rows[0] if self.rows else None

    async def afetch_all(self, sql: str, params: tuple[Any, ...] = (),
                         label: str = "") -> list[tuple[Any, ...]]:
        self.asked.append((sql, params))
        await asyncio.sleep(0)
        return list(self.rows)


class Store:
    """Methods a twin may and may not be made of."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self._by_name = "SELECT name FROM t WHERE name = ?"

    def get(self, name: str, default: str = "none") -> dict[str, str] | str:
        row = self._db.fetch_one(self._by_name, (name,), "t.get")
        return default if row is None else user_row(row[0])

    def names(self, *prefixes: str) -> list[str]:
        return [row[0] for row in self._db.fetch_all("SELECT name FROM t", prefixes)
                if row[0].startswith(prefixes or ("",))]

    def fails_on_the_row(self, name: str) -> None:
        row = self._db.fetch_one(self._by_name, (name,))
        raise LookupError(f"no {name}: {row}")

    def in_a_transaction(self, name: str) -> Any:
        with self._db.transaction() as tx:
            return tx.fetch_one(self._by_name, (name,))

    def through_another_method(self, name: str) -> Any:
        return self.get(name)

    def hands_itself_on(self, name: str) -> Any:
        self._db.fetch_one(self._by_name, (name,))
        return helper(self)

    def keeps_the_database(self, name: str) -> Any:
        db = self._db
        return db.fetch_one(self._by_name, (name,))

    def other_database_call(self, name: str) -> Any:
        self._db.fetch_one(self._by_name, (name,))
        return self._db.execute("DELETE FROM t")

    @decorated
    def decorated_read(self, name: str) -> Any:
        return self._db.fetch_one(self._by_name, (name,))

    def with_a_lambda(self, name: str) -> Any:
        return (lambda: self._db.fetch_one(self._by_name, (name,)))()

    def no_read(self, name: str) -> str:
        return name.upper()


@pytest.mark.parametrize("name", [
    "in_a_transaction", "through_another_method", "hands_itself_on", "keeps_the_database",
    "other_database_call", "decorated_read", "with_a_lambda", "no_read",
])
def test_no_twin_for_a_method_that_may_reach_the_database_otherwise(name: str) -> None:
    assert read_twin(getattr(Store(Reads([])), name)) is None


def test_a_twin_returns_what_its_method_would_with_its_reads_awaited() -> None:
    reads = Reads([("ada",), ("bob",)])
    store = Store(reads)
    get, names = read_twin(store.get), read_twin(store.names)
    assert get is not None and names is not None
    assert asyncio.iscoroutinefunction(get)

    async def scenario() -> list[Any]:
        return [await get("ada"), await get("x", default="dflt"), await names("a")]

    assert asyncio.run(scenario()) == [{"name": "ada"}, {"name": "ada"}, ["ada"]]
    assert reads.asked == [(store._by_name, ("ada",)), (store._by_name, ("x",)),
                           ("SELECT name FROM t", ("a",))]
    assert get.__doc__ == Store.get.__doc__ and get.__qualname__ == "Store.get"


def test_an_error_in_a_twin_points_at_the_methods_own_source_line() -> None:
    twin = read_twin(Store(Reads([("row",)])).fails_on_the_row)
    assert twin is not None
    with pytest.raises(LookupError, match="no ada") as raised:
        asyncio.run(twin("ada"))
    frame = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert frame.filename == __file__
    assert frame.line == 'raise LookupError(f"no {name}: {row}")'


def test_the_shared_user_store_has_twins_for_its_reads_and_none_for_its_writes() -> None:
    store = SQLUserStore.__new__(SQLUserStore)
    assert read_twin(store.get_by_id) is not None
    assert read_twin(store.list_by_org) is not None
    assert read_twin(store.create) is None
    assert read_twin(store.record_login) is None
