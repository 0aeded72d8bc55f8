"""Coroutine twins: made only for methods whose one way to the database is the reads
they await, and behaving like the method they come from."""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING, Any

import pytest

from aragora_storage_core.aio.twin_rules import SQL, Vocabulary
from aragora_storage_core.aio.twins import coroutine_twin

if TYPE_CHECKING:
    OnlyForTypeChecking = list[str]
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

    def atransaction(self) -> Statements:
        return Statements(self.log)

    log: list[str]


class Statements:
    """An async transaction as a twin uses it, recording its statements."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> Statements:
        self.log.append("begin")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.log.append("rollback" if exc[0] else "commit")

    async def aexecute(self, sql: str, params: tuple[Any, ...] = (), label: str = "") -> int:
        self.log.append(sql)
        await asyncio.sleep(0)
        return 2

    async def afetch_one(self, sql: str, params: tuple[Any, ...] = (),
                         label: str = "") -> tuple[Any, ...]:
        await self.aexecute(sql, params)
        return (7,)

    def next_row(self) -> tuple[Any, ...]:
        return (7,)


class Unique:
    """``Store.unique``: maps one error on the way out, as ``SQLStore.unique`` does."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __enter__(self) -> None:
        self.log.append("unique")

    def __exit__(self, *exc: Any) -> None:
        if isinstance(exc[1], KeyError):
            raise ValueError("duplicate") from None


class Store:
    """Methods a twin may and may not be made of."""

    LIMIT = 2

    def __init__(self, db: Any) -> None:
        self._db = db
        self._by_name = "SELECT name FROM t WHERE name = ?"
        self.log: list[str] = []

    def unique(self, what: str) -> Unique:
        return Unique(self.log)

    def get(self, name: str, default: str = "none") -> dict[str, str] | str:
        row = self._db.fetch_one(self._by_name, (name,), "t.get")
        return default if row is None else user_row(row[0])

    def names(self, *prefixes: str) -> list[str]:
        return [row[0] for row in self._db.fetch_all("SELECT name FROM t", prefixes)
                if row[0].startswith(prefixes or ("",))]

    def fails_on_the_row(self, name: str) -> None:
        row = self._db.fetch_one(self._by_name, (name,))
        raise LookupError(f"no {name}: {row}")

    def read_in_a_transaction(self, name: str) -> Any:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM t WHERE name = ?", (name,))
            return self._db.fetch_one(self._by_name, (name,))

    def read_after_a_transaction(self, name: str) -> Any:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM t WHERE name = ?", (name,))
        return self._db.fetch_one(self._by_name, (name,))

    def two_transactions(self, name: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM t WHERE name = ?", (name,))
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM u WHERE name = ?", (name,))

    def transaction_in_a_loop(self, names: list[str]) -> None:
        for name in names:
            with self._db.transaction() as tx:
                tx.execute("DELETE FROM t WHERE name = ?", (name,))

    def hands_the_transaction_on(self, name: str) -> Any:
        with self._db.transaction() as tx:
            return helper(tx)

    def other_context(self, name: str) -> None:
        with self.unknown_helper(), self._db.transaction() as tx:
            tx.execute("DELETE FROM t WHERE name = ?", (name,))

    def renames(self, name: str) -> int:
        """A transaction a twin may await: the statements, then a row of the last."""
        with self.unique("name"), self._db.transaction() as tx:
            changed = tx.execute("UPDATE t SET name = ? WHERE name = ?", (name.upper(), name))
            tx.fetch_one("SELECT count(*) FROM t", ())
            count = tx.next_row()
        return changed + (0 if count is None else 1)

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

    def read_in_a_generator(self, names: list[str]) -> bool:
        return any(self._db.fetch_one(self._by_name, (name,)) for name in names)

    def first(self, limit: int = LIMIT, *, prefix: str = "") -> OnlyForTypeChecking:
        """A default from the class body, an annotation only a type checker can see."""
        rows = self._db.fetch_all("SELECT name FROM t", (prefix,))
        return [row[0] for row in rows][:limit]


@pytest.mark.parametrize("name", [
    "through_another_method", "hands_itself_on", "keeps_the_database", "other_database_call",
    "decorated_read", "with_a_lambda", "no_read", "read_in_a_transaction",
    "read_after_a_transaction", "two_transactions", "transaction_in_a_loop",
    "hands_the_transaction_on", "other_context", "read_in_a_generator",
])
def test_no_twin_for_a_method_that_may_reach_the_database_otherwise(name: str) -> None:
    assert coroutine_twin(getattr(Store(Reads([])), name), SQL) is None


def test_a_twin_returns_what_its_method_would_with_its_reads_awaited() -> None:
    reads = Reads([("ada",), ("bob",)])
    store = Store(reads)
    get, names = coroutine_twin(store.get, SQL), coroutine_twin(store.names, SQL)
    assert get is not None and names is not None
    assert asyncio.iscoroutinefunction(get)

    async def scenario() -> list[Any]:
        return [await get("ada"), await get("x", default="dflt"), await names("a")]

    assert asyncio.run(scenario()) == [{"name": "ada"}, {"name": "ada"}, ["ada"]]
    assert reads.asked == [(store._by_name, ("ada",)), (store._by_name, ("x",)),
                           ("SELECT name FROM t", ("a",))]
    assert get.__doc__ == Store.get.__doc__ and get.__qualname__ == "Store.get"


def test_a_write_twin_awaits_its_transaction_and_statements_in_the_methods_order() -> None:
    reads = Reads([])
    store = Store(reads)
    reads.log = store.log
    renames = coroutine_twin(store.renames, SQL)
    assert renames is not None
    assert asyncio.run(renames("ada")) == 3
    assert store.log == ["unique", "begin", "UPDATE t SET name = ? WHERE name = ?",
                         "SELECT count(*) FROM t", "commit"]


def test_a_twin_keeps_the_methods_defaults_and_leaves_its_annotations_unevaluated() -> None:
    first = coroutine_twin(Store(Reads([("a",), ("b",), ("c",)])).first, SQL)
    assert first is not None
    assert asyncio.run(first()) == ["a", "b"]
    assert asyncio.run(first(1, prefix="x")) == ["a"]


def test_an_error_in_a_twin_points_at_the_methods_own_source_line() -> None:
    twin = coroutine_twin(Store(Reads([("row",)])).fails_on_the_row, SQL)
    assert twin is not None
    with pytest.raises(LookupError, match="no ada") as raised:
        asyncio.run(twin("ada"))
    frame = traceback.extract_tb(raised.value.__traceback__)[-1]
    assert frame.filename == __file__
    assert frame.line == 'raise LookupError(f"no {name}: {row}")'


def test_the_shared_user_store_has_twins_for_reads_and_one_transaction_writes() -> None:
    store = SQLUserStore.__new__(SQLUserStore)
    for twinned in (store.get_by_id, store.list_by_org, store.create, store.record_login):
        assert coroutine_twin(twinned, SQL) is not None, twinned.__name__
    assert coroutine_twin(store.update, SQL) is None  # goes through update_fields, another method


#: A vocabulary like the Redis stores': a read, and a write that applies on arrival.
COMMANDS = Vocabulary(database="_redis", calls={"read": "aread", "write": "awrite"},
                      writes=frozenset({"write"}))


class Commands:
    """A Redis-like database: coroutine commands, recording what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    async def aread(self, command: str, key: str) -> str:
        self.sent.append((command, key))
        await asyncio.sleep(0)
        return key.upper()

    async def awrite(self, command: str, key: str) -> int:
        self.sent.append((command, key))
        await asyncio.sleep(0)
        return 1


class CommandStore:
    def __init__(self) -> None:
        self._redis = Commands()

    def get(self, key: str) -> str:
        return self._redis.read("GET", f"p:{key}")  # type: ignore[no-any-return, attr-defined]

    def get_all(self, keys: list[str]) -> list[str]:
        return [self._redis.read("GET", key) for key in keys]  # type: ignore[attr-defined]

    def delete(self, key: str) -> bool:
        return bool(self._redis.write("DEL", f"p:{key}"))  # type: ignore[attr-defined]

    def delete_all(self, keys: list[str]) -> None:
        for key in keys:
            self._redis.write("DEL", key)  # type: ignore[attr-defined]

    def read_then_write(self, key: str) -> None:
        if self._redis.read("GET", key):  # type: ignore[attr-defined]
            self._redis.write("DEL", key)  # type: ignore[attr-defined]


def test_another_vocabulary_awaits_its_own_calls() -> None:
    store = CommandStore()
    get, get_all, delete = (coroutine_twin(method, COMMANDS)
                            for method in (store.get, store.get_all, store.delete))
    assert get is not None and get_all is not None and delete is not None

    async def scenario() -> list[Any]:
        return [await get("a"), await get_all(["b", "c"]), await delete("a")]

    assert asyncio.run(scenario()) == ["P:A", ["B", "C"], True]
    assert store._redis.sent == [("GET", "p:a"), ("GET", "b"), ("GET", "c"), ("DEL", "p:a")]
    assert coroutine_twin(store.get, SQL) is None  # not the SQL stores' calls


@pytest.mark.parametrize("name", ["delete_all", "read_then_write"])
def test_a_write_that_applies_on_arrival_is_twinned_only_alone(name: str) -> None:
    """A cancellation after it (in a loop, or in a later read) could not say whether the
    write was applied."""
    assert coroutine_twin(getattr(CommandStore(), name), COMMANDS) is None
