"""docs/writing-a-plugin.md shows the MariaDB example's files whole: each ``file=`` block
is byte for byte the file in examples/ (which tests/mariadb runs against the server)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "aragora-storage-mariadb"
BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.S | re.M)


def test_every_file_of_the_example_is_in_the_guide_as_it_is() -> None:
    guide = (ROOT / "docs" / "writing-a-plugin.md").read_text(encoding="utf-8")
    shown = dict(BLOCK.findall(guide))
    files = {str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*")
             if p.is_file() and p.suffix in (".py", ".toml") and "__pycache__" not in p.parts}
    assert set(shown) == files
    for name, text in shown.items():
        assert text == (EXAMPLE / name).read_text(encoding="utf-8"), name


def test_the_example_stays_under_400_lines_of_code() -> None:
    code = [line for p in EXAMPLE.rglob("*.py") if "__pycache__" not in p.parts
            for line in p.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]
    assert len(code) <= 400
