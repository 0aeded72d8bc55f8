"""Which store methods get a coroutine twin (:mod:`~aragora_storage_core.aio.twins`),
and which of their calls the twin awaits.

What a twin awaits is a backend's :class:`Vocabulary`: the attribute of the store that
holds its database, the database's calls that have a coroutine twin, and, for SQL, the
transaction and its statements. A twin is made only for a method whose one way to its
database is what the twin awaits:

* calls of the vocabulary on the database (``self._db.fetch_one(...)``); one that applies
  a change on arrival (a Redis write) only alone, outside any loop, so a cancellation
  while it is in flight is the only one that can leave a change behind;
* at most one transaction, a ``with`` statement of the method's body itself (not in a
  loop or a branch) entering ``self._db.transaction()`` and perhaps store helpers that
  only map errors (``self.unique(...)``), whose ``tx`` is only used for its statements
  (``execute``, ``fetch_one``, ``fetch_all``, ``execute_many``) and rows (``next_row``,
  ``rest_rows``), with no call of the database in it (that would leave the transaction)
  or after it (a cancelled twin outside its block then surely applied nothing);

and in which ``self`` is only ever the base of an attribute, no call starts from ``self``
but those and calls of the store's pure helpers (a Redis keyspace), the database is used
for nothing else, and there is no nested function, ``super()``, name mangling or
decorator.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard


@dataclass(frozen=True)
class Vocabulary:
    """What a backend's twins await: the store's database and the calls on it."""

    #: The store attribute holding its database (``SQLStore._db``).
    database: str
    #: The database calls a twin awaits, and the database's coroutine method for each.
    calls: Mapping[str, str]
    #: Those of ``calls`` that apply a change on arrival (and mark their own outcome when
    #: cancelled in flight): a twin awaits one only alone, outside any loop.
    writes: frozenset[str] = frozenset()
    #: The database method opening a transaction, and its async context manager's name.
    transaction: tuple[str, str] | None = None
    #: A transaction's statements a twin awaits, and the async transaction's method for each.
    statements: Mapping[str, str] = field(default_factory=dict)
    #: A transaction's calls that only hand out rows already fetched.
    rows: frozenset[str] = frozenset()
    #: Store helpers a transaction's ``with`` may enter too (they only map errors).
    contexts: frozenset[str] = frozenset()
    #: Store attributes whose calls never reach the database (a Redis store's keyspace).
    pure: frozenset[str] = frozenset()


#: The SQL stores' vocabulary (``SQLStore``: ``self._db`` reads and one transaction).
SQL = Vocabulary(
    database="_db",
    calls={"fetch_one": "afetch_one", "fetch_all": "afetch_all"},
    transaction=("transaction", "atransaction"),
    statements={"execute": "aexecute", "fetch_one": "afetch_one", "fetch_all": "afetch_all",
                "execute_many": "aexecute_many"},
    rows=frozenset({"next_row", "rest_rows"}),
    contexts=frozenset({"unique"}),
)

_FORBIDDEN = (ast.AsyncWith, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)
_LOOPS = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass
class Shape:
    """What a twin awaits in one method: its database calls, its transaction block and
    statements."""

    calls: set[ast.Call] = field(default_factory=set)
    statements: set[ast.Call] = field(default_factory=set)
    block: ast.With | None = None
    transaction: ast.withitem | None = None


@dataclass
class _Method:
    """One method being checked against a vocabulary."""

    words: Vocabulary
    owner: str
    shape: Shape
    parents: dict[ast.AST, ast.AST]
    entered: set[int] = field(default_factory=set)
    tx: str | None = None


def shape_of(definition: ast.FunctionDef, words: Vocabulary) -> Shape | None:
    """The :class:`Shape` of a method that may have a twin, else ``None`` (module docs)."""
    if definition.decorator_list or not definition.args.args:
        return None
    parents = {child: parent for parent in ast.walk(definition)
               for child in ast.iter_child_nodes(parent)}
    method = _Method(words, definition.args.args[0].arg, Shape(), parents)
    shape = method.shape
    for position, statement in enumerate(definition.body):
        if isinstance(statement, ast.With):
            if shape.block is not None or not _take_block(statement, method):
                return None
            inside_and_after = ast.Module([statement, *definition.body[position + 1:]], [])
            if any(isinstance(node, ast.Call) and _is_call(node, method)
                   for node in ast.walk(inside_and_after)):
                return None  # a call in it would leave the transaction; one after, the
                # outcome of a cancellation there unsaid
    target = shape.transaction.optional_vars if shape.transaction is not None else None
    method.tx = target.id if isinstance(target, ast.Name) else None
    if shape.block is not None:
        method.entered = {id(item.context_expr) for item in shape.block.items}
    if not all(_allowed(node, method) for node in ast.walk(ast.Module(definition.body, []))):
        return None
    if not all(_placed_well(call, method) for call in shape.calls | shape.statements):
        return None
    return shape if shape.calls or shape.block is not None else None


def _allowed(node: ast.AST, method: _Method) -> bool:
    """Whether ``node`` keeps to the rules (module docs); records what is awaited."""
    shape, owner, tx, parents = method.shape, method.owner, method.tx, method.parents
    if isinstance(node, _FORBIDDEN) or (isinstance(node, ast.With) and node is not shape.block):
        return False
    if isinstance(node, ast.Name) and (node.id == "super" or node.id.startswith("__")):
        return False
    if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        return False
    if isinstance(node, ast.Call) and id(node) not in method.entered:
        if _rooted_at(node.func, owner):
            if _is_call(node, method):
                shape.calls.add(node)
            elif not _is_pure(node.func, method):
                return False  # another method of the store, or of its database
        elif tx is not None and _rooted_at(node.func, tx):
            func = node.func
            if not (isinstance(func, ast.Attribute) and _is_name(func.value, tx)):
                return False
            if func.attr in method.words.statements:
                shape.statements.add(node)
            elif func.attr not in method.words.rows:
                return False
    if _is_name(node, owner) and not isinstance(parents.get(node), ast.Attribute):
        return False  # self stored or handed on
    if _is_database(node, method):
        call = parents.get(parents.get(node))  # type: ignore[arg-type]
        if not (isinstance(call, ast.Call)
                and (_is_call(call, method) or id(call) in method.entered)):
            return False  # the database stored or handed on
    if tx is not None and _is_name(node, tx) and isinstance(node.ctx, ast.Load):
        parent = parents.get(node)
        if not (isinstance(parent, ast.Attribute) and isinstance(parents.get(parent), ast.Call)
                and parents[parent].func is parent):  # type: ignore[attr-defined]
            return False  # the transaction stored or handed on
    if tx is not None and _is_name(node, tx) and not isinstance(node.ctx, ast.Load):
        transaction = shape.transaction
        return transaction is not None and transaction.optional_vars is node
    return True


def _placed_well(call: ast.Call, method: _Method) -> bool:
    """Whether the twin may await ``call`` where it is: never in a generator expression
    (awaited there, it would make an async generator), and a write only as the method's
    one awaited call, outside any loop."""
    write = call.func.attr in method.words.writes  # type: ignore[attr-defined]
    if write and (len(method.shape.calls) > 1 or method.shape.block is not None):
        return False
    node: ast.AST | None = method.parents.get(call)
    while node is not None:
        if isinstance(node, ast.GeneratorExp) or (write and isinstance(node, _LOOPS)):
            return False
        node = method.parents.get(node)
    return True


def _take_block(statement: ast.With, method: _Method) -> bool:
    """Record ``statement`` as the transaction block if its items are the transaction
    (exactly once) and error-mapping helpers."""
    shape, words = method.shape, method.words
    opening = words.transaction[0] if words.transaction is not None else None
    for item in statement.items:
        call = item.context_expr
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            return False
        if _is_database(call.func.value, method) and call.func.attr == opening:
            named = item.optional_vars is None or isinstance(item.optional_vars, ast.Name)
            if shape.transaction is not None or call.args or call.keywords or not named:
                return False
            shape.transaction = item
        elif not (_is_name(call.func.value, method.owner) and call.func.attr in words.contexts
                  and item.optional_vars is None):
            return False
    shape.block = statement
    return shape.transaction is not None


def _rooted_at(node: ast.expr, name: str) -> bool:
    """Whether ``node`` is ``name`` or an attribute chain starting at it."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return _is_name(node, name)


def _is_call(call: ast.Call, method: _Method) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in method.words.calls
            and _is_database(func.value, method))


def _is_pure(func: ast.expr, method: _Method) -> bool:
    """Whether ``func`` is a method of one of the store's pure attributes."""
    while isinstance(func, ast.Attribute):
        if _is_name(func.value, method.owner):
            return func.attr in method.words.pure
        func = func.value
    return False


def _is_name(node: ast.AST, name: str) -> TypeGuard[ast.Name]:
    return isinstance(node, ast.Name) and node.id == name


def _is_database(node: ast.AST, method: _Method) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == method.words.database
            and _is_name(node.value, method.owner))
