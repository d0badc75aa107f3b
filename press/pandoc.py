"""Running pandoc (the binary shipped by pypandoc_binary) and walking its JSON AST."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from functools import cache
from pathlib import Path
from typing import Any

import pypandoc

from press import turns
from press.errors import BuildError, Problem, warning

Node = dict[str, Any]
log = logging.getLogger("press")


@cache
def executable() -> str:
    """The pandoc pypandoc_binary ships: the pinned one, on every machine (the build cache
    is keyed by that package's version). pypandoc's own search, only where it is missing,
    runs every pandoc it can find (PATH, ~/.bin, ...) and takes the newest."""
    name = "pandoc.exe" if os.name == "nt" else "pandoc"
    shipped = Path(pypandoc.__file__).parent / "files" / name
    return str(shipped) if shipped.is_file() else pypandoc.get_pandoc_path()


def run(args: Sequence[str], stdin: str | bytes, *, place: str) -> bytes:
    """Run pandoc in its sandbox (it reads only the files named in ``args``).

    ``place`` names what is being converted, for the error line if pandoc fails.
    """
    proc = _ran(args, stdin)
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        message = stderr or f"exit {proc.returncode}"
        raise BuildError([Problem(place, None, f"pandoc: {message}", "pandoc.failed")])
    for line in stderr.splitlines():
        log.warning(
            warning(place, None, f"pandoc: {line.removeprefix('[WARNING] ')}", "pandoc.warning")
        )
    return proc.stdout


RUNTIME = ("+RTS", "-H16m", "-RTS")
"""pandoc's runtime told to aim for a 16 MB heap, not the 64 MB built into pypandoc_binary's
pandoc: citeproc on the x50 copies took 47-49 s with 64 and 23-24 s with 16 (32: 29-34),
the same output; the x1 report's runs 10-30 ms longer; a 2 MB piece's HTML in 160 MiB, not
183."""


def _ran(args: Sequence[str], stdin: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """pandoc run in its sandbox, taking its turn (:mod:`press.turns`), as it ended."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    command = [executable(), "--sandbox", *args, *RUNTIME]
    with turns.turn():
        return subprocess.run(command, input=data, capture_output=True, check=False)


def started(args: Sequence[str], stdin: str | bytes, *, place: str) -> Callable[[], bytes]:
    """:func:`run` started in a thread of its own: what it prints, when asked for (and what
    it raises, then). The thread does not keep the build from ending, should it fail."""
    future: Future[bytes] = Future()

    def go() -> None:
        try:
            future.set_result(run(args, stdin, place=place))
        except BaseException as exc:  # raised where the result is asked for
            future.set_exception(exc)

    threading.Thread(target=go, daemon=True).start()
    return future.result


def attempt(args: Sequence[str], stdin: str | bytes) -> bytes | None:
    """What pandoc prints, or None if it fails, and nothing said of either (for a draft)."""
    proc = _ran(args, stdin)
    return proc.stdout if proc.returncode == 0 else None


def to_json(args: Sequence[str], stdin: str | bytes, *, place: str) -> Node:
    return json.loads(run([*args, "--to", "json"], stdin, place=place))


SECTIONS = Path(__file__).with_name("sections.lua")


def parse_apart(texts: Sequence[str], reader: str) -> list[str] | None:
    """Each of ``texts`` parsed on its own by ``reader``: the JSON ``--from reader --to json``
    makes of it alone, all in one run of pandoc (a Lua reader, :data:`SECTIONS`), not one
    run per text, each paying pandoc's start (x50 distinct, 351 sections: the stage that
    reads and parses the report 2.9 -> 1.5 s). None if pandoc failed or warned: what it says
    would not tell which text it is about (parse each alone, then)."""
    request = json.dumps({"reader": reader, "texts": list(texts)})
    proc = _ran(["--from", str(SECTIONS), "--to", "json"], request)
    if proc.returncode != 0 or proc.stderr.strip():
        return None
    docs = [block["c"][1] for block in json.loads(proc.stdout)["blocks"]]
    return docs if len(docs) == len(texts) else None


def walk(value: Any) -> Iterator[Node]:
    """Every AST element (a dict with a ``t`` key) under ``value``, depth first.

    With a stack of its own, not by recursion: a generator that yields from its children's
    hands each element up through every level above it (x50: 0.17 s a walk, 0.10 this way)."""
    stack = [value]
    push = stack.append
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if "t" in item:
                yield item
            children = item.values()
        elif kind is list:
            children = item
        else:
            continue
        for child in reversed(children):
            if type(child) is dict or type(child) is list:  # strings are most of it
                push(child)


def transform(value: Any, fn: Callable[[Node], Any]) -> Any:
    """A copy of ``value`` where each element is replaced by ``fn(element)``, bottom up.

    Children are transformed before their parent is given to ``fn``, which returns
    the element to keep (itself or another) or a list of elements to splice in.
    """
    if isinstance(value, list):
        out: list[Any] = []
        for child in value:
            new = transform(child, fn)
            if isinstance(child, dict) and "t" in child:
                new = fn(new)
                if isinstance(new, list):
                    out.extend(new)
                    continue
            out.append(new)
        return out
    if isinstance(value, dict):
        return {k: transform(v, fn) for k, v in value.items()}
    return value


def stringify(value: Any) -> str:
    """Plain text of inlines or blocks, as pandoc's ``stringify``."""
    parts: list[str] = []

    def go(v: Any) -> None:
        if isinstance(v, list):
            for c in v:
                go(c)
            return
        if not isinstance(v, dict):
            return
        t, c = v.get("t"), v.get("c")
        if t == "Str":
            parts.append(c)
        elif t in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif t in ("Code", "Math", "RawInline"):
            parts.append(c[1] if t != "RawInline" else "")
        elif t == "Quoted":
            q = ("\u2018", "\u2019") if c[0]["t"] == "SingleQuote" else ("\u201c", "\u201d")
            parts.append(q[0])
            go(c[1])
            parts.append(q[1])
        elif t == "Note":
            return
        elif t in ("Cite", "Link", "Image", "Span", "Div"):
            go(c[1])
        elif t in ("Header",):
            go(c[2])
        elif isinstance(c, list):
            go(c)

    go(value)
    return "".join(parts)
