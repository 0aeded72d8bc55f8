"""Which store methods get a coroutine twin (:mod:`~aragora_storage_core.aio.twins`),
and which of their calls the twin awaits.

A twin is made only for a method whose one way to its database is what the twin awaits:

* reads, ``self._db.fetch_one(...)`` and ``self._db.fetch_all(...)``;
* at most one transaction, a ``with`` statement of the method's body itself (not in a
  loop or a branch) entering ``self._db.transaction()`` and perhaps store helpers that
  only map errors (``self.unique(...)``), whose ``tx`` is only used for its statements
  (``execute``, ``fetch_one``, ``fetch_all``, ``execute_many``) and rows (``next_row``,
  ``rest_rows``), with no read of ``self._db`` in it (that would leave the transaction)
  or after it (a cancelled twin outside its block then surely applied nothing);

and in which ``self`` is only ever the base of an attribute, no call starts from ``self``
but those, the database is used for nothing else, and there is no nested function,
``super()``, name mangling or decorator.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TypeGuard

#: The database reads a twin awaits, and the database's coroutine method for each.
READS = {"fetch_one": "afetch_one", "fetch_all": "afetch_all"}
#: A transaction's statements a twin awaits, and the async transaction's method for each.
STATEMENTS = {"execute": "aexecute", "fetch_one": "afetch_one", "fetch_all": "afetch_all",
              "execute_many": "aexecute_many"}
#: A transaction's calls that only hand out rows already fetched.
ROWS = frozenset({"next_row", "rest_rows"})
#: Store helpers a transaction's ``with`` may enter too (they only map errors).
CONTEXTS = frozenset({"unique"})
#: The store attribute holding its database (``SQLStore._db``).
DATABASE = "_db"
_FORBIDDEN = (ast.AsyncWith, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)


@dataclass
class Shape:
    """What a twin awaits in one method: its reads, its transaction block and statements."""

    reads: set[ast.Call] = field(default_factory=set)
    statements: set[ast.Call] = field(default_factory=set)
    block: ast.With | None = None
    transaction: ast.withitem | None = None


def shape_of(definition: ast.FunctionDef) -> Shape | None:
    """The :class:`Shape` of a method that may have a twin, else ``None`` (module docs)."""
    if definition.decorator_list or not definition.args.args:
        return None
    owner = definition.args.args[0].arg
    shape = Shape()
    for position, statement in enumerate(definition.body):
        if isinstance(statement, ast.With):
            if shape.block is not None or not _take_block(statement, owner, shape):
                return None
            inside_and_after = ast.Module([statement, *definition.body[position + 1:]], [])
            if any(isinstance(node, ast.Call) and _is_read(node, owner)
                   for node in ast.walk(inside_and_after)):
                return None  # a read in it would leave the transaction; one after, the
                # outcome of a cancellation there unsaid
    tx = _tx_name(shape)
    entered = ({id(item.context_expr) for item in shape.block.items}
               if shape.block is not None else set())
    parents = {child: parent for parent in ast.walk(definition)
               for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(ast.Module(definition.body, [])):
        if not _allowed(node, owner, tx, shape, entered, parents):
            return None
    return shape if shape.reads or shape.block is not None else None


def _allowed(node: ast.AST, owner: str, tx: str | None, shape: Shape, entered: set[int],
             parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` keeps to the rules (module docs); records what is awaited."""
    if isinstance(node, _FORBIDDEN) or (isinstance(node, ast.With) and node is not shape.block):
        return False
    if isinstance(node, ast.Name) and (node.id == "super" or node.id.startswith("__")):
        return False
    if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
        return False
    if isinstance(node, ast.Call) and id(node) not in entered:
        if _rooted_at(node.func, owner):
            if not _is_read(node, owner):
                return False  # another method of the store, or of its database
            shape.reads.add(node)
        elif tx is not None and _rooted_at(node.func, tx):
            func = node.func
            if not (isinstance(func, ast.Attribute) and _is_name(func.value, tx)):
                return False
            if func.attr in STATEMENTS:
                shape.statements.add(node)
            elif func.attr not in ROWS:
                return False
    if _is_name(node, owner) and not isinstance(parents.get(node), ast.Attribute):
        return False  # self stored or handed on
    if _is_database(node, owner):
        call = parents.get(parents.get(node))  # type: ignore[arg-type]
        if not (isinstance(call, ast.Call) and (_is_read(call, owner) or id(call) in entered)):
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


def _take_block(statement: ast.With, owner: str, shape: Shape) -> bool:
    """Record ``statement`` as the transaction block if its items are the transaction
    (exactly once) and error-mapping helpers."""
    for item in statement.items:
        call = item.context_expr
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            return False
        if _is_database(call.func.value, owner) and call.func.attr == "transaction":
            named = item.optional_vars is None or isinstance(item.optional_vars, ast.Name)
            if shape.transaction is not None or call.args or call.keywords or not named:
                return False
            shape.transaction = item
        elif not (_is_name(call.func.value, owner) and call.func.attr in CONTEXTS
                  and item.optional_vars is None):
            return False
    shape.block = statement
    return shape.transaction is not None


def _tx_name(shape: Shape) -> str | None:
    target = shape.transaction.optional_vars if shape.transaction is not None else None
    return target.id if isinstance(target, ast.Name) else None


def _rooted_at(node: ast.expr, name: str) -> bool:
    """Whether ``node`` is ``name`` or an attribute chain starting at it."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return _is_name(node, name)


def _is_read(call: ast.Call, owner: str) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in READS
            and _is_database(func.value, owner))


def _is_name(node: ast.AST, name: str) -> TypeGuard[ast.Name]:
    return isinstance(node, ast.Name) and node.id == name


def _is_database(node: ast.AST, owner: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == DATABASE
            and _is_name(node.value, owner))
