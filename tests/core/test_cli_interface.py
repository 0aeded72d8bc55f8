"""The command line itself: ``--version``, no abbreviated flags, Ctrl-C, sizes."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from aragora_storage_core.cli import build_parser, caused_by_interrupt, guarded, main, run_parsed
from aragora_storage_core.cli.backup import human_size

#: Prints ``ready`` once the entry module is imported, then runs the command exactly as
#: the ``aragora-storage`` console script does.
ENTRY = ("import os, sys\n"
         "from aragora_storage_core.cli import main\n"
         "os.write(2, b'ready\\n')\n"
         "sys.exit(main())\n")
INTERRUPTED = "interrupted; nothing partial was kept"


def all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every sub-parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from all_parsers(child)


def test_version_prints_the_installed_distribution_version(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"aragora-storage {version('aragora-storage')}"


def test_no_parser_accepts_abbreviated_flags() -> None:
    parsers = list(all_parsers(build_parser()))
    assert len(parsers) > 10  # the root, every command and every action below them
    assert [p.prog for p in parsers if p.allow_abbrev] == []


@pytest.mark.parametrize("argv", [["migrate", "--migrat"], ["migrate", "--stat"],
                                  ["doctor", "--js"], ["backup", "prune", "--dry"]])
def test_an_abbreviated_flag_is_a_usage_error_and_runs_nothing(
        argv: list[str], capsys: pytest.CaptureFixture[str], clean_environment: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
    assert list(clean_environment.iterdir()) == []


def test_the_seed_runner_refuses_abbreviated_flags_too(clean_environment: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aragora_storage_core.migrations.runner", "--migrat"],
        capture_output=True, text=True, check=False, cwd=clean_environment, timeout=60)
    assert result.returncode == 2, result.stderr
    assert list(clean_environment.iterdir()) == []


@pytest.mark.parametrize(("size", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1536, "1.5 KB"),
    (int(54.3 * 1024 * 1024), "54.3 MB"), (int(54.96 * 1024 * 1024), "55.0 MB"),
    (1024 * 1024 - 1, "1.0 MB"), (3 * 1024 ** 4, "3072.0 GB"),
])
def test_sizes_are_rounded_to_one_decimal_not_truncated(size: int, text: str) -> None:
    assert human_size(size) == text


def _interrupt(argv: list[str], delay: float, cwd: Path,
               entry: str = ENTRY) -> tuple[int, str]:
    """Run the command, send SIGINT ``delay`` seconds after it started; (exit code, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARAGORA_")}
    process = subprocess.Popen([sys.executable, "-c", entry, *argv], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert process.stderr.readline() == "ready\n"
    time.sleep(delay)  # not an assertion: spreads the signal over the command's phases
    process.send_signal(signal.SIGINT)
    err = process.stderr.read()
    return process.wait(timeout=60), err


#: The seed's runner, as ``python -m aragora_storage_core.migrations.runner`` runs it.
RUNNER = ENTRY.replace("aragora_storage_core.cli import main",
                       "aragora_storage_core.migrations.runner import main")


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "entry"), [
    (["doctor"], ENTRY), (["migrate", "--migrate"], ENTRY),
    (["--url", "sqlite:///one.db", "doctor", "--json"], ENTRY), (["--migrate"], RUNNER)])
def test_ctrl_c_at_any_moment_prints_one_line_and_no_traceback(
        argv: list[str], entry: str, clean_environment: Path) -> None:
    interrupted = 0
    # From 20 ms after "ready": main() has been entered (the few bytecodes between the
    # import and the call are the console script's, not ours), and the import of every
    # command module, the parsing and the command itself follow.
    for delay in (0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5):
        code, err = _interrupt(argv, delay, clean_environment, entry)
        assert "Traceback" not in err and "Exception" not in err, (delay, err)
        if code == 130:
            interrupted += 1
            assert err == INTERRUPTED + "\n", (delay, err)
        else:
            # Finished first; a signal during interpreter shutdown ends it silently (-2).
            assert code in (0, 1, -signal.SIGINT) and err == "", (delay, code, err)
    assert interrupted > 0  # the signal did arrive while the command ran


class _InterruptedDescriptor:
    """A class attribute whose ``__set_name__`` is hit by Ctrl-C, as a lazily imported
    ``dataclasses`` class can be: Python 3.11 raises ``RuntimeError('Error calling
    __set_name__ ...')`` with the ``KeyboardInterrupt`` as its cause."""

    def __set_name__(self, owner: type, name: str) -> None:
        raise KeyboardInterrupt


def _build_a_class_during_ctrl_c(args: argparse.Namespace | None = None) -> int:
    class Built:
        attribute = _InterruptedDescriptor()

    return 0


@pytest.fixture
def sigint_handler_restored() -> Iterator[None]:
    """``interrupted()`` installs its own SIGINT handler: pytest gets its own back."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def test_an_interrupt_python_wrapped_in_another_exception_is_recognised() -> None:
    with pytest.raises(BaseException) as raised:
        _build_a_class_during_ctrl_c()
    assert caused_by_interrupt(raised.value)
    assert not caused_by_interrupt(RuntimeError("no interrupt here"))


@pytest.mark.parametrize("where", ["while starting", "inside the command"])
def test_a_wrapped_ctrl_c_prints_one_line_and_exits_130(
        where: str, capsys: pytest.CaptureFixture[str], sigint_handler_restored: None) -> None:
    if where == "while starting":
        code = guarded(_build_a_class_during_ctrl_c)
    else:
        code = guarded(lambda: run_parsed(argparse.Namespace(run=_build_a_class_during_ctrl_c)))
    assert (code, capsys.readouterr().err) == (130, INTERRUPTED + "\n")


class _InterruptedFinalizer:
    """An object whose ``__del__`` is hit by Ctrl-C, as the import system's weakref
    callbacks can be: Python cannot raise there and prints "Exception ignored in"."""

    def __del__(self) -> None:
        raise KeyboardInterrupt


def _finalize_during_ctrl_c() -> int:
    doomed = _InterruptedFinalizer()
    del doomed
    return 0


def test_ctrl_c_in_a_finalizer_prints_one_line_and_exits_130(
        capsys: pytest.CaptureFixture[str], sigint_handler_restored: None) -> None:
    hook = sys.unraisablehook
    assert guarded(_finalize_during_ctrl_c) == 130
    assert capsys.readouterr().err == INTERRUPTED + "\n"
    assert sys.unraisablehook is hook


@pytest.mark.parametrize("argv", [
    ["postgresql://app:hunter2@db.example/app"],                   # the URL as the command
    ["doctor", "--url", "postgresql://app:hunter2@db.example/app"],  # --url after it
    ["migrate", "--migrate", "redis://:hunter2@cache:6379/0?prefix=x"],
    ["doctor", "--url", "postgresql://app@db.example/app?password=hunter2"],
])
def test_a_usage_error_never_echoes_the_password_of_a_url(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "error:" in err and "hunter2" not in err, err
    assert "db.example" in err or "cache" in err  # still says which argument was wrong
