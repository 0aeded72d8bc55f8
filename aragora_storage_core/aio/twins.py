"""Coroutine twins of simple store methods: the synchronous method's own code, compiled
with its database calls awaited (docs/async.md).

A store method such as ``UserStore.get_by_id`` is one read and a row mapping;
``UserStore.create`` is one transaction around one statement. Run through the bridge,
every call pays a greenlet (or a second pass over the method); its twin is the same
source, parsed once, in which ``self._db.fetch_one(...)`` becomes
``await self._db.afetch_one(...)`` (``fetch_all`` likewise), and
``with ..., self._db.transaction() as tx:`` becomes ``async with
self._db.atransaction() as tx:`` with ``tx.execute(...)`` (``fetch_one``, ``fetch_all``,
``execute_many``) awaited: one coroutine, as if written by hand, with nothing copied.
Another backend names its own calls in a
:class:`~aragora_storage_core.aio.twin_rules.Vocabulary` (Redis: ``self._redis.read(...)``
becomes ``await self._redis.aread(...)``). The rules are in
:mod:`~aragora_storage_core.aio.twin_rules`; a method they refuse keeps the bridge. A
cancelled twin says what it applied: a transaction block, or a write that applies on
arrival, marks its own outcome, and a twin cancelled anywhere else applied nothing.
"""

from __future__ import annotations
import __future__

import ast
import asyncio
import inspect
import textwrap
import types
from collections.abc import Awaitable, Callable
from typing import Any

from aragora_storage_core.aio.outcome import WriteOutcome, mark, write_outcome
from aragora_storage_core.aio.twin_rules import Shape, Vocabulary, shape_of


def coroutine_twin(method: Callable[..., Any],
                   words: Vocabulary) -> Callable[..., Awaitable[Any]] | None:
    """The coroutine twin of the bound store ``method``, awaiting the calls of ``words``
    (:data:`~aragora_storage_core.aio.twin_rules.SQL` for the SQL stores), or ``None``
    when it has none."""
    function = getattr(method, "__func__", None)
    if function is None or getattr(function, "__wrapped__", None) or function.__closure__:
        return None
    try:
        lines, first = inspect.getsourcelines(function)
        filename = inspect.getsourcefile(function) or "<twin>"
    except (OSError, TypeError):  # no source (a frozen or compiled install): the bridge
        return None
    definition = ast.parse(textwrap.dedent("".join(lines))).body[0]
    if not isinstance(definition, ast.FunctionDef):
        return None
    shape = shape_of(definition, words)
    if shape is None:
        return None
    factory = _factory(definition, _Awaited(shape, words))
    ast.increment_lineno(factory, first - 1)
    namespace: dict[str, Any] = {}
    # the method's own source, with its database calls awaited, in its module's globals;
    # annotations stay text (a name imported for type checking only is fine)
    code = compile(ast.Module([factory], []), filename, "exec",
                   flags=__future__.annotations.compiler_flag, dont_inherit=True)
    exec(code, function.__globals__, namespace)
    twin: types.FunctionType = namespace[factory.name](_cancelled)
    twin.__defaults__, twin.__kwdefaults__ = function.__defaults__, function.__kwdefaults__
    twin.__doc__, twin.__qualname__ = function.__doc__, function.__qualname__
    return types.MethodType(twin, method.__self__)  # type: ignore[attr-defined]


class _Awaited(ast.NodeTransformer):
    """The rewriting: database calls and statements awaited, the transaction ``async with``."""

    def __init__(self, shape: Shape, words: Vocabulary) -> None:
        self.shape = shape
        self.words = words

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        renamed = None
        if node in self.shape.calls:
            renamed = self.words.calls[func.attr]  # type: ignore[attr-defined]
        elif node in self.shape.statements:
            renamed = self.words.statements[func.attr]  # type: ignore[attr-defined]
        if renamed is None:
            return node
        target = ast.Attribute(func.value, renamed, ast.Load())  # type: ignore[attr-defined]
        return ast.copy_location(ast.Await(ast.Call(target, node.args, node.keywords)), node)

    def visit_With(self, node: ast.With) -> ast.AST:
        if node is not self.shape.block:
            return self.generic_visit(node)
        body: list[ast.stmt] = [self.visit(statement) for statement in node.body]
        for item in reversed(node.items):
            if item is self.shape.transaction:
                call = item.context_expr
                assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                assert self.words.transaction is not None
                opened = ast.Call(ast.Attribute(call.func.value, self.words.transaction[1],
                                                ast.Load()), [], [])
                wrapped: ast.stmt = ast.AsyncWith([ast.withitem(opened, item.optional_vars)],
                                                  body)
            else:
                wrapped = ast.With([item], body)
            body = [ast.copy_location(wrapped, node)]
        return body[0]


def _factory(definition: ast.FunctionDef, awaited: _Awaited) -> ast.FunctionDef:
    """``def _twin_of_<name>(_twin_cancelled): async def <name>(...): try: <body> except
    CancelledError as e: _twin_cancelled(e); raise``, located like the method."""
    body = [awaited.visit(statement) for statement in definition.body]
    # defaults come from the method itself (coroutine_twin copies them): the source's may name
    # the class's own attributes, which the factory cannot see
    arguments = definition.args
    arguments.defaults = [ast.Constant(None) for _ in arguments.defaults]
    arguments.kw_defaults = [None if d is None else ast.Constant(None)
                             for d in arguments.kw_defaults]
    handler = ast.ExceptHandler(
        ast.Attribute(ast.Name("_twin_asyncio", ast.Load()), "CancelledError", ast.Load()),
        "_twin_error",
        [ast.Expr(ast.Call(ast.Name("_twin_cancelled", ast.Load()),
                           [ast.Name("_twin_error", ast.Load())], [])),
         ast.Raise()])
    twin = ast.AsyncFunctionDef(
        name=definition.name, args=arguments,
        body=[ast.Try(body, [handler], [], [])], decorator_list=[], returns=None,
        type_comment=None)
    outer = ast.arguments([], [ast.arg("_twin_cancelled")], None, [], [], None, [])
    factory = ast.FunctionDef(
        name=f"_twin_of_{definition.name}", args=outer,
        body=[ast.Import([ast.alias("asyncio", "_twin_asyncio")]), twin,
              ast.Return(ast.Name(definition.name, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    ast.copy_location(factory, definition)
    return ast.fix_missing_locations(factory)


def _cancelled(error: asyncio.CancelledError) -> None:
    """A twin cancelled outside its transaction block and its write applied nothing (they
    mark a cancellation inside them with their own outcome)."""
    if write_outcome(error) is None:
        mark(error, WriteOutcome.NOT_APPLIED)
