"""``@dataclass`` for the core's records, without the ``dataclasses`` module at import.

``@dataclass`` costs a fresh process about 1 ms per class (it compiles an ``__init__``, a
``__repr__`` and an ``__eq__`` from source text, and importing ``dataclasses`` loads
``inspect``, ``ast`` and ``dis``): with the 40 classes on the way to the first store call
that was a third of a command's start-up. This module's :func:`dataclass` builds the
same class (same options and meaning, for the ones the core uses) with one
small compile (``__init__``, so its signature and speed are a dataclass's) and plain
functions for the rest:

* ``__init__`` (defaults, ``field(default_factory=...)``, ``__post_init__``), compiled
  on first use,
  ``__repr__`` (``repr=False`` fields left out, recursion shown as ``...``), ``__eq__``
  (same class only, ``compare=False`` fields left out), ``__hash__`` (``None`` unless
  frozen), the ``order=True`` comparisons, frozen ``__setattr__``/``__delattr__`` raising
  :class:`dataclasses.FrozenInstanceError`, ``__match_args__``; a method the class
  defines itself is kept, as ``dataclass`` keeps it;
* ``__dataclass_fields__`` and ``__dataclass_params__`` appear on first access (the
  ``dataclasses`` module imports then), so :func:`dataclasses.fields`, ``replace``,
  ``asdict`` and ``is_dataclass`` work, and a ``@dataclass`` may subclass a record; the
  core itself uses :func:`replace` here, which does not need them.

A class this does not cover (``InitVar``, ``KW_ONLY``, ``ClassVar``, no docstring, a
base that is a plain dataclass) is handed to ``dataclasses.dataclass`` unchanged. Type
checkers see both as the standard ones (``dataclass_transform``).
"""

from __future__ import annotations

import abc
from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing import dataclass_transform
else:
    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        """At run time, the identity decorator (only type checkers read it)."""
        return lambda function: function

T = TypeVar("T", bound=type)
T_obj = TypeVar("T_obj")


class _Marker:
    """A marker value shown by its name (``dataclasses.MISSING`` without the import)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Any = _Marker("MISSING")
#: The default of an ``__init__`` parameter whose field has a ``default_factory``.
_HAS_FACTORY: Any = _Marker("<factory>")
_FIELDS = "__record_fields__"


class Field:
    """One field of a record: what :func:`field` was given, plus its name and type."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "metadata", "name",
                 "repr", "type")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool,
                 hash: bool | None, compare: bool, metadata: Any) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare = init, repr, hash, compare
        self.metadata = metadata
        self.name: str = ""
        self.type: Any = None

    def as_dataclass_field(self) -> Any:
        """The same field as a ``dataclasses.field`` (for the lazy ``__dataclass_fields__``)."""
        import dataclasses

        return dataclasses.field(
            default=dataclasses.MISSING if self.default is MISSING else self.default,
            default_factory=(dataclasses.MISSING if self.default_factory is MISSING
                             else self.default_factory),
            init=self.init, repr=self.repr, hash=self.hash, compare=self.compare,
            metadata=self.metadata)


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
          repr: bool = True, hash: bool | None = None, compare: bool = True,
          metadata: Any = None) -> Any:
    """A field with options, as :func:`dataclasses.field` (same parameters and meaning)."""
    return Field(default, default_factory, init, repr, hash, compare, metadata)


@overload
def dataclass(cls: T, /) -> T: ...


@overload
def dataclass(*, frozen: bool = False, order: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: Any = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """Make ``cls`` a dataclass (``@dataclass``, ``@dataclass(frozen=True, order=True)``)."""

    def wrap(target: T) -> T:
        built: T = _build(target, frozen, order)
        return built

    return wrap if cls is None else wrap(cls)


def _is_special(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return any(word in text for word in ("InitVar", "KW_ONLY", "ClassVar"))


def _build(cls: Any, frozen: bool, order: bool) -> Any:
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (inspect costs an import)
    bases = [b for b in cls.__mro__[1:] if "__dataclass_fields__" in b.__dict__]
    if (cls.__doc__ is None or any(_is_special(a) for a in own.values())
            or any(_FIELDS not in b.__dict__ for b in bases)):
        import dataclasses

        return dataclasses.dataclass(frozen=frozen, order=order)(cls)
    fields: dict[str, Field] = {}
    for base in reversed(bases):
        fields.update(base.__dict__[_FIELDS])
    for name, annotation in own.items():
        fields[name] = _own_field(cls, name, annotation)
    _check_defaults(cls, fields)
    setattr(cls, _FIELDS, fields)
    cls.__record_params__ = frozen, order
    _add(cls, "__init__", _LazyInit(cls, fields, frozen, hasattr(cls, "__post_init__")))
    _add(cls, "__repr__", _repr(fields))
    _add(cls, "__eq__", _comparison("__eq__", fields))
    if order:
        for name in ("__lt__", "__le__", "__gt__", "__ge__"):
            if name in cls.__dict__:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}. "
                                "Consider using functools.total_ordering")
            setattr(cls, name, _comparison(name, fields))
    _set_hash(cls, fields, frozen)
    if frozen:
        _freeze(cls, fields)
    _add(cls, "__match_args__", tuple(f.name for f in fields.values() if f.init))
    for name in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, name, _DataclassInfo(cls, name))
    abc.update_abstractmethods(cls)
    return cls


def _own_field(cls: type, name: str, annotation: Any) -> Field:
    value = cls.__dict__.get(name, MISSING)
    spec = value if isinstance(value, Field) else field(default=value)
    spec.name, spec.type = name, annotation
    if isinstance(value, Field):
        if spec.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, spec.default)
    default = spec.default
    if default is not MISSING and type(default).__hash__ is None:
        raise ValueError(f"mutable default {type(default)} for field {name} is not allowed:"
                         " use default_factory")
    return spec


def _check_defaults(cls: type, fields: dict[str, Field]) -> None:
    seen_default = False
    for spec in fields.values():
        if not spec.init:
            continue
        if spec.default is MISSING and spec.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {spec.name!r} follows default argument")
        else:
            seen_default = True


def _add(cls: type, name: str, value: Any) -> None:
    """Set ``name`` unless the class body defines it (``dataclass`` keeps the class's own)."""
    if name not in cls.__dict__:
        if callable(value) and hasattr(value, "__qualname__"):
            value.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, value)


class _LazyInit:
    """A record's ``__init__``, compiled when first looked up (a call, ``inspect``, ...).

    Compiling is half of what building a record costs, and a process uses few of the
    records it imports; once compiled, the function replaces this descriptor.
    """

    def __init__(self, owner: type, fields: dict[str, Field], frozen: bool,
                 post_init: bool) -> None:
        self.owner, self.fields, self.frozen, self.post_init = owner, fields, frozen, post_init

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        init = _init(self.owner, self.fields, self.frozen, self.post_init)
        init.__qualname__ = f"{self.owner.__qualname__}.__init__"
        type.__setattr__(self.owner, "__init__", init)
        return init if obj is None else init.__get__(obj, objtype)


def _init(cls: type, fields: dict[str, Field], frozen: bool,
          post_init: bool) -> Callable[..., None]:
    """The ``__init__`` a dataclass would have, compiled from source as ``dataclass`` does."""
    namespace: dict[str, Any] = {"_HAS_FACTORY": _HAS_FACTORY, "_setattr": object.__setattr__}
    params, body = ["self"], []
    for spec in fields.values():
        name = spec.name
        has_factory = spec.default_factory is not MISSING
        if has_factory:
            namespace[f"_factory_{name}"] = spec.default_factory
        if spec.init:
            if has_factory:
                params.append(f"{name}=_HAS_FACTORY")
                value = f"_factory_{name}() if {name} is _HAS_FACTORY else {name}"
            elif spec.default is not MISSING:
                namespace[f"_default_{name}"] = spec.default
                params.append(f"{name}=_default_{name}")
                value = name
            else:
                params.append(name)
                value = name
        elif has_factory:
            value = f"_factory_{name}()"
        elif spec.default is not MISSING:
            namespace[f"_default_{name}"] = spec.default
            value = f"_default_{name}"
        else:
            continue
        body.append(f"_setattr(self, {name!r}, {value})" if frozen else f"self.{name} = {value}")
    if post_init:
        body.append("self.__post_init__()")
    source = (f"def __init__({', '.join(params)}):\n"
              + "".join(f"    {line}\n" for line in body or ["pass"]))
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__annotations__ = {**{f.name: f.type for f in fields.values() if f.init},
                            "return": None}
    return init


def _repr(fields: dict[str, Field]) -> Callable[[Any], str]:
    shown = [f.name for f in fields.values() if f.repr]
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    return __repr__


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the tuple of ``names`` of an object (as ``dataclass`` compares)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        single = attrgetter(names[0])
        return lambda obj: (single(obj),)
    return lambda obj: ()


def _comparison(name: str, fields: dict[str, Field]) -> Callable[[Any, Any], Any]:
    values = _values([f.name for f in fields.values() if f.compare])
    compare = {"__eq__": tuple.__eq__, "__lt__": tuple.__lt__, "__le__": tuple.__le__,
               "__gt__": tuple.__gt__, "__ge__": tuple.__ge__}[name]

    def comparison(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compare(values(self), values(other))
        return NotImplemented

    comparison.__name__ = name
    return comparison


def _set_hash(cls: Any, fields: dict[str, Field], frozen: bool) -> None:
    """``dataclass``'s rule for ``eq=True``: unhashable, or hashed by its fields if frozen."""
    own = cls.__dict__.get("__hash__", MISSING)
    explicit = not (own is MISSING or (own is None and "__eq__" in cls.__dict__))
    if explicit:
        return
    if not frozen:
        cls.__hash__ = None
        return
    values = _values([f.name for f in fields.values()
                      if (f.compare if f.hash is None else f.hash)])

    def __hash__(self: Any) -> int:
        return hash(values(self))

    __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
    cls.__hash__ = __hash__


def _frozen_error(what: str, name: str) -> Exception:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot {what} field {name!r}")


def _freeze(cls: Any, fields: dict[str, Field]) -> None:
    names = frozenset(fields)
    for method in ("__setattr__", "__delattr__"):
        if method in cls.__dict__:
            raise TypeError(f"Cannot overwrite attribute {method} in class {cls.__name__}")

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error("assign to", name)
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error("delete", name)
        super(cls, self).__delattr__(name)

    for function in (__setattr__, __delattr__):
        _add(cls, function.__name__, function)


class _DataclassInfo:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a record, made on first read.

    A twin dataclass with the same fields is built once (``dataclasses`` imports then);
    its dictionaries replace this descriptor on the record.
    """

    def __init__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        import dataclasses

        owner = self.owner
        frozen, order = owner.__dict__["__record_params__"]
        fields: dict[str, Field] = owner.__dict__[_FIELDS]
        namespace: dict[str, Any] = {
            "__module__": owner.__module__, "__qualname__": owner.__qualname__,
            "__doc__": owner.__doc__,
            "__annotations__": {name: spec.type for name, spec in fields.items()},
        }
        namespace.update((name, spec.as_dataclass_field()) for name, spec in fields.items())
        twin: Any = dataclasses.dataclass(frozen=frozen, order=order)(
            type(owner.__name__, (), namespace))
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            type.__setattr__(owner, name, twin.__dict__[name])
        return owner.__dict__[self.name]


def replace(obj: T_obj, /, **changes: Any) -> T_obj:
    """A copy of the record ``obj`` with ``changes``, as :func:`dataclasses.replace`."""
    fields: dict[str, Field] | None = getattr(type(obj), _FIELDS, None)
    if fields is None:  # a plain dataclass (a class handed on to ``dataclasses``)
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    for spec in fields.values():
        if not spec.init:
            if spec.name in changes:
                raise ValueError(f"field {spec.name} is declared with init=False, it cannot"
                                 " be specified with replace()")
        elif spec.name not in changes:
            changes[spec.name] = getattr(obj, spec.name)
    return obj.__class__(**changes)
