"""Bad report folders (tests/bad/cases.yaml): one clear error each, nothing lost."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from press.cli import main
from tests.conftest import ROOTS, Built

CASES = yaml.safe_load((Path(__file__).parent / "bad" / "cases.yaml").read_text(encoding="utf-8"))
LINE = re.compile(
    r"^(?P<path>.+?)(?::(?P<line>\d+))?: error: (?P<message>.*) \[(?P<code>[\w.-]+)\]$"
)


def make(folder: Path, case: dict) -> None:
    shutil.copytree(ROOTS / "minimal", folder)
    for name, (old, new) in case.get("replace", {}).items():
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{case['name']}: {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    for name, content in case.get("write", {}).items():
        append = name.endswith("+")
        path = folder / name.rstrip("+")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes((path.read_bytes() if append else b"") + data)
    for name in case.get("delete", []):
        (folder / name).unlink()


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c["name"] for c in CASES}) == len(CASES)
    assert len({c["expect"][0] for c in CASES}) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_report(case: dict, minimal: Built, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "report"
    make(folder, case)
    output = folder / "output"
    output.mkdir()
    for written in minimal.result.written:  # the last good editions
        shutil.copy(written.path, output / written.path.name)
    before = digest(output)

    code = main([str(folder), *case.get("args", [])])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    errors = [m.groupdict() for m in map(LINE.match, err.splitlines()) if m]
    assert errors, err
    expected_code, expected_path, expected_line = case["expect"]
    first = errors[0]
    assert (first["code"], first["path"]) == (expected_code, expected_path), err
    assert first["line"] == (str(expected_line) if expected_line else None), err
    assert err.rstrip().splitlines()[-1].startswith("failed: ")
    assert digest(output) == before, "a failed build changed the previous editions"
