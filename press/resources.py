"""Built-in templates and styles, and a report folder's own copies that take precedence.

The tool's own ``templates/`` and ``styles/`` sit at the top of this repository;
a report folder may carry files of the same names, which win.
"""

from __future__ import annotations

from pathlib import Path

from press.errors import BuildError, Problem

TOOL_ROOT = Path(__file__).resolve().parent.parent


def layers(folder: Path, *parts: str) -> list[Path]:
    """Existing copies of a resource, built-in first, the report's own last."""
    candidates = [TOOL_ROOT.joinpath(*parts), folder.joinpath(*parts)]
    found: list[Path] = []
    for path in candidates:
        if path.is_file() and path.resolve() not in found:
            found.append(path.resolve())
    return found


def find(folder: Path, *parts: str) -> Path:
    """The report's copy of a resource if it has one, else the built-in one."""
    found = layers(folder, *parts)
    if not found:
        where = "/".join(parts)
        raise BuildError([Problem(where, None, "resource not found", "resource.missing")])
    return found[-1]


def template_dirs(folder: Path) -> list[Path]:
    """Where page templates are looked up: the report's ``templates/`` first."""
    dirs = [folder / "templates", TOOL_ROOT / "templates"]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in dirs[:i]]


def allowed_roots(folder: Path) -> tuple[Path, ...]:
    """The only folders a build may read from: the report and the tool's resources."""
    return (folder.resolve(), TOOL_ROOT / "styles", TOOL_ROOT / "templates")


def shown(path: Path, folder: Path) -> str:
    for root in (folder, TOOL_ROOT):
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)
