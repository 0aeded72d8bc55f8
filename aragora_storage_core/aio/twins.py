"""Coroutine twins of simple read methods: the synchronous method's own code, compiled
with its database reads awaited (docs/async.md).

A store method such as ``UserStore.get_by_id`` is one read and a row mapping. Run
through the bridge, every call pays a second pass over the method; its twin is the same
source, parsed once, in which ``self._db.fetch_one(...)`` becomes
``await self._db.afetch_one(...)`` (and ``fetch_all`` likewise): one coroutine, as if
written by hand, with nothing copied. A twin is made only for a method that can do
nothing but those reads: no ``with`` block (so no transaction), no call of another
method of ``self``, ``self`` and its database never handed to anything, no nested
function, no ``super()`` and no name mangling, no decorator; anything else keeps the
bridge. A cancelled twin says it applied nothing, as the bridge does for reads.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import types
from collections.abc import Awaitable, Callable
from typing import Any

from aragora_storage_core.aio.outcome import WriteOutcome, mark

#: The database reads a twin awaits, and the database's coroutine method for each.
READS = {"fetch_one": "afetch_one", "fetch_all": "afetch_all"}
#: The store attribute holding its database (``SQLStore._db``).
DATABASE = "_db"
_FORBIDDEN = (ast.With, ast.AsyncWith, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef,
              ast.ClassDef, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)


def read_twin(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]] | None:
    """The coroutine twin of the bound read ``method``, or ``None`` when it has none."""
    function = getattr(method, "__func__", None)
    if function is None or getattr(function, "__wrapped__", None) or function.__closure__:
        return None
    try:
        lines, first = inspect.getsourcelines(function)
        filename = inspect.getsourcefile(function) or "<twin>"
    except (OSError, TypeError):  # no source (a frozen or compiled install): the bridge
        return None
    definition = ast.parse(textwrap.dedent("".join(lines))).body[0]
    if not isinstance(definition, ast.FunctionDef) or not _reads_only(definition):
        return None
    factory = _factory(definition)
    ast.increment_lineno(factory, first - 1)
    namespace: dict[str, Any] = {}
    # the method's own source, with its reads awaited: run in its module's globals
    exec(compile(ast.Module([factory], []), filename, "exec"), function.__globals__, namespace)
    twin: types.FunctionType = namespace[factory.name](_cancelled)
    twin.__defaults__, twin.__kwdefaults__ = function.__defaults__, function.__kwdefaults__
    twin.__doc__, twin.__qualname__ = function.__doc__, function.__qualname__
    return types.MethodType(twin, method.__self__)  # type: ignore[attr-defined]


def _reads_only(definition: ast.FunctionDef) -> bool:
    """Whether the method reaches its database only by the reads a twin awaits: ``self``
    is only ever the base of an attribute, no call starts from ``self`` but
    ``self._db.fetch_one``/``fetch_all``, and ``self._db`` is used for nothing else."""
    if definition.decorator_list or not definition.args.args:
        return False
    owner = definition.args.args[0].arg
    parents = {child: parent for parent in ast.walk(definition)
               for child in ast.iter_child_nodes(parent)}
    reads = 0
    for node in ast.walk(ast.Module(definition.body, [])):
        if isinstance(node, _FORBIDDEN):
            return False
        if isinstance(node, ast.Name) and (node.id == "super" or node.id.startswith("__")):
            return False
        if isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return False
        if isinstance(node, ast.Call) and _rooted_at(node.func, owner):
            if not _is_read(node, owner):
                return False  # another method of the store, or of its database
            reads += 1
        if _is_owner(node, owner) and not isinstance(parents.get(node), ast.Attribute):
            return False  # self stored or handed on
        if _is_database(node, owner):
            call = parents.get(parents.get(node))  # type: ignore[arg-type]
            if not (isinstance(call, ast.Call) and _is_read(call, owner)):
                return False  # the database stored or handed on
    return reads > 0


def _rooted_at(node: ast.expr, owner: str) -> bool:
    """Whether ``node`` is ``self`` or an attribute chain starting at ``self``."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return _is_owner(node, owner)


def _is_read(call: ast.Call, owner: str) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in READS
            and _is_database(func.value, owner))


def _is_owner(node: ast.AST, owner: str) -> bool:
    return isinstance(node, ast.Name) and node.id == owner


def _is_database(node: ast.AST, owner: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == DATABASE
            and _is_owner(node.value, owner))


class _Awaited(ast.NodeTransformer):
    """``self._db.fetch_one(...)`` -> ``await self._db.afetch_one(...)``."""

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not _is_read(node, self.owner):
            return node
        func = node.func
        assert isinstance(func, ast.Attribute)
        renamed = ast.Attribute(func.value, READS[func.attr], ast.Load())
        return ast.copy_location(ast.Await(ast.Call(renamed, node.args, node.keywords)), node)


def _factory(definition: ast.FunctionDef) -> ast.FunctionDef:
    """``def _twin_of_<name>(_twin_cancelled): async def <name>(...): try: <body> except
    CancelledError as e: _twin_cancelled(e); raise``, located like the method."""
    owner = definition.args.args[0].arg
    body = [_Awaited(owner).visit(statement) for statement in definition.body]
    handler = ast.ExceptHandler(
        ast.Attribute(ast.Name("_twin_asyncio", ast.Load()), "CancelledError", ast.Load()),
        "_twin_error",
        [ast.Expr(ast.Call(ast.Name("_twin_cancelled", ast.Load()),
                           [ast.Name("_twin_error", ast.Load())], [])),
         ast.Raise()])
    twin = ast.AsyncFunctionDef(
        name=definition.name, args=definition.args,
        body=[ast.Try(body, [handler], [], [])], decorator_list=[], returns=None,
        type_comment=None)
    arguments = ast.arguments([], [ast.arg("_twin_cancelled")], None, [], [], None, [])
    factory = ast.FunctionDef(
        name=f"_twin_of_{definition.name}", args=arguments,
        body=[ast.Import([ast.alias("asyncio", "_twin_asyncio")]), twin,
              ast.Return(ast.Name(definition.name, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    ast.copy_location(factory, definition)
    return ast.fix_missing_locations(factory)


def _cancelled(error: asyncio.CancelledError) -> None:
    """A cancelled read applied nothing (as :func:`~aragora_storage_core.aio.bridge.run`
    says of its reads)."""
    mark(error, WriteOutcome.NOT_APPLIED)
