"""Problems found while building: each one a sentence with a place.

Every stage collects the problems it finds and raises them together as a
:class:`BuildError`; the CLI prints one line per problem, ``path:line: error:
message [code]``, and exits non-zero. A traceback is only ever a bug in press.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding, tied to a file and (when known) a line in it."""

    path: str
    line: int | None
    message: str
    code: str
    severity: str = "error"

    def __str__(self) -> str:
        place = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{place}: {self.severity}: {self.message} [{self.code}]"


def warning(path: str, line: int | None, message: str, code: str) -> Problem:
    return Problem(path, line, message, code, "warning")


class BuildError(Exception):
    """The build cannot go on; carries every problem found by the failing stage."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[BuildError], tuple[list[Problem]]]:
        return (BuildError, (self.problems,))  # so it crosses from a worker process intact


@contextmanager
def captured(name: str = "press", *, only_here: bool = False) -> Iterator[list[logging.LogRecord]]:
    """What logger ``name`` records at warning level or above while the block runs.

    With ``only_here`` the records go nowhere else (its other handlers are set aside).
    """
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(name)
    handler = Collect(level=logging.WARNING)
    saved = (list(logger.handlers), logger.propagate)
    if only_here:
        logger.handlers[:] = []
        logger.propagate = False
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.handlers[:], logger.propagate = saved


def problems_in(records: list[logging.LogRecord]) -> list[Problem]:
    """The Problems among log records (press logs each warning as one)."""
    return [r.msg for r in records if isinstance(r.msg, Problem)]


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the closest choices (up to ``n``), or an empty string."""
    close = [f"'{c}'" for c in difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)]
    if not close:
        return ""
    listed = close[0] if len(close) == 1 else ", ".join(close[:-1]) + " or " + close[-1]
    return f" (did you mean {listed}?)"
