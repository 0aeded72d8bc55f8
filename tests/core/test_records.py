"""``aragora_storage_core.records.dataclass`` builds the class ``dataclasses.dataclass`` builds.

Each case defines one class body twice, once with each decorator, and compares what a
caller can see: the ``__init__`` signature, defaults and factories, ``repr``, equality,
hashing, ordering, frozen errors, ``__match_args__`` and the ``dataclasses`` functions.
The last tests check every record of the core and the PostgreSQL plugin, and that
importing them does not import ``dataclasses``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from typing import Any

import pytest

import aragora_storage_core
from aragora_storage_core import records

OPTIONS = [{}, {"frozen": True}, {"frozen": True, "order": True}]


def make_point(decorator: Any, field: Any) -> Any:
    """A class with a required field, defaults, factories and repr/compare options."""

    class Point:
        """A point with tags."""

        x: int
        y: int = 0
        tags: tuple[str, ...] = ()
        notes: list[str] = field(default_factory=list, compare=False)
        secret: str | None = field(default=None, repr=False)
        label: str = field(default="p", hash=False)

        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

    return decorator(Point)


def both(options: dict[str, bool]) -> tuple[Any, Any]:
    """The ``Point`` built by ``records.dataclass`` and by ``dataclasses.dataclass``."""
    return (make_point(records.dataclass(**options), records.field),
            make_point(dataclasses.dataclass(**options), dataclasses.field))


@pytest.mark.parametrize("options", OPTIONS)
def test_init_signature_defaults_and_factories_are_the_same(options: dict[str, bool]) -> None:
    ours, theirs = both(options)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__init__.__annotations__ == theirs.__init__.__annotations__
    a, b = ours(1), theirs(1)
    assert a.notes == b.notes == [] and a.notes is not ours(1).notes
    assert vars(a) == vars(b)
    assert vars(ours(1, 2, ("t",), ["n"], "s", "q")) == vars(theirs(1, 2, ("t",), ["n"], "s", "q"))
    with pytest.raises(TypeError):
        ours()
    with pytest.raises(TypeError):
        ours(1, nope=2)


@pytest.mark.parametrize("options", OPTIONS)
def test_repr_and_match_args_are_the_same(options: dict[str, bool]) -> None:
    ours, theirs = both(options)
    assert repr(ours(1, secret="s")) == repr(theirs(1, secret="s"))
    assert ours.__match_args__ == theirs.__match_args__
    assert ours.__init__.__qualname__ == theirs.__init__.__qualname__
    assert ours.__doc__ == theirs.__doc__


@pytest.mark.parametrize("options", OPTIONS)
def test_equality_hashing_and_order_are_the_same(options: dict[str, bool]) -> None:
    ours, theirs = both(options)
    for cls in (ours, theirs):
        assert cls(1, notes=["a"]) == cls(1, notes=["b"])  # notes: compare=False
        assert cls(1) != cls(2)
        assert cls(1).__eq__(object()) is NotImplemented
        nan = float("nan")  # compared as tuples: the same object is equal to itself
        assert cls(nan) == cls(nan) and cls(nan) != cls(float("nan"))
    assert (ours.__hash__ is None) == (theirs.__hash__ is None)
    if options.get("frozen"):
        assert hash(ours(1, label="a")) == hash(theirs(1, label="b"))  # label: hash=False
    if options.get("order"):
        assert sorted([ours(3), ours(1, 5), ours(1, 2)]) == [ours(1, 2), ours(1, 5), ours(3)]
        assert ours(1).__lt__(theirs(2)) is NotImplemented
    else:
        with pytest.raises(TypeError):
            assert ours(1) < ours(2)


@pytest.mark.parametrize("options", OPTIONS)
def test_frozen_records_refuse_assignment_as_dataclasses_do(options: dict[str, bool]) -> None:
    ours, theirs = both(options)
    a, b = ours(1), theirs(1)
    if not options.get("frozen"):
        a.x = b.x = 5
        assert a.x == b.x == 5
        return
    for obj in (a, b):
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
            obj.x = 5
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'y'"):
            del obj.y


@pytest.mark.parametrize("options", OPTIONS)
def test_the_dataclasses_functions_work_on_records(options: dict[str, bool]) -> None:
    ours, theirs = both(options)
    a, b = ours(1, notes=["n"], secret="s"), theirs(1, notes=["n"], secret="s")
    assert dataclasses.is_dataclass(ours) and dataclasses.is_dataclass(a)
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert [(f.name, f.type, f.default, f.repr, f.compare, f.hash)
            for f in dataclasses.fields(a)] == [
        (f.name, f.type, f.default, f.repr, f.compare, f.hash) for f in dataclasses.fields(b)]
    assert repr(ours.__dataclass_params__) == repr(theirs.__dataclass_params__)
    assert dataclasses.replace(a, y=7) == ours(1, 7, notes=["n"], secret="s")
    assert records.replace(a, y=7) == ours(1, 7, notes=["n"], secret="s")
    assert records.replace(b, y=7) == theirs(1, 7, notes=["n"], secret="s")
    assert copy.copy(a) == a and copy.deepcopy(a) == a and copy.deepcopy(a).notes is not a.notes


def test_a_dataclass_and_a_record_may_subclass_a_record() -> None:
    base = make_point(records.dataclass(frozen=True), records.field)

    @dataclasses.dataclass(frozen=True)
    class Plain(base):  # type: ignore[misc,valid-type]
        """A plain dataclass on a record."""

        z: int = 0

    @records.dataclass(frozen=True)
    class Ours(base):  # type: ignore[misc,valid-type]
        """A record on a record."""

        z: int = 0

    assert repr(Plain(1, z=3)) == repr(Ours(1, z=3)).replace("Ours", "Plain")
    assert str(inspect.signature(Plain)) == str(inspect.signature(Ours))
    assert Ours(1, z=3).norm() == 1


def test_the_class_own_methods_are_kept_and_errors_are_the_same() -> None:
    for decorator, field in ((records.dataclass, records.field),
                             (dataclasses.dataclass, dataclasses.field)):

        @decorator
        class Own:
            """Defines its own repr and eq."""

            a: int

            def __repr__(self) -> str:
                return "own"

            def __eq__(self, other: object) -> bool:
                return True

            def __post_init__(self) -> None:
                self.b = self.a * 2

        assert repr(Own(1)) == "own" and Own(1) == Own(2) and Own(3).b == 6
        assert Own.__hash__ is None
        with pytest.raises(ValueError, match="mutable default <class 'list'> for field c"):
            decorator(type("Bad", (), {"__annotations__": {"c": "list[int]"}, "c": [],
                                       "__doc__": "bad"}))
        with pytest.raises(TypeError, match="non-default argument 'd' follows default"):
            decorator(type("Order", (), {"__annotations__": {"c": "int", "d": "int"}, "c": 1,
                                         "__doc__": "bad"}))
        with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
            field(default=1, default_factory=list)


def _record_classes() -> list[type]:
    """Every class decorated with ``records.dataclass`` in the core and the PostgreSQL plugin."""
    import aragora_storage_postgres

    found: list[type] = []
    for package in (aragora_storage_core, aragora_storage_postgres):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith(".__main__"):  # runs the command line
                continue
            module = importlib.import_module(info.name)
            found.extend(value for value in vars(module).values()
                         if isinstance(value, type) and "__record_fields__" in value.__dict__
                         and value.__module__ == module.__name__)
    return found


def test_every_record_of_the_core_matches_its_dataclass_twin() -> None:
    classes = _record_classes()
    assert len(classes) > 40  # the walk found them (models, settings, layout, ...)
    for cls in classes:
        fields = dataclasses.fields(cls)  # the twin dataclass's fields
        assert cls.__match_args__ == tuple(f.name for f in fields if f.init), cls
        twin = dataclasses.dataclass(frozen=cls.__dataclass_params__.frozen)(
            type(cls.__name__, (), {
                "__annotations__": {f.name: f.type for f in fields}, "__doc__": cls.__doc__,
                "__module__": cls.__module__, **{f.name: f for f in fields}}))
        assert str(inspect.signature(cls)) == str(inspect.signature(twin)), cls


def test_importing_the_records_of_the_core_imports_no_dataclasses() -> None:
    code = ("import sys\n"
            "import aragora_storage_core.models, aragora_storage_core.settings\n"
            "import aragora_storage_core.layout, aragora_storage_core.migrations.types\n"
            "import aragora_storage_core.url, aragora_storage_core.checks\n"
            "import json; print(json.dumps('dataclasses' in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert json.loads(result.stdout) is False
