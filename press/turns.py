"""The helper programs that need much memory (pandoc, LibreOffice) run one at a time across
the build's processes, each after its process has handed back the memory it freed: for a
550-page report pandoc takes 250-300 MiB and LibreOffice 200, and the editions' runs at once
were most of the build's peak."""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator
from typing import Any

_lock: contextlib.AbstractContextManager[Any] | None = None
_held = False
_release = True


@contextlib.contextmanager
def shared(lock: contextlib.AbstractContextManager[Any], release: bool = True) -> Iterator[None]:
    """While the block runs, :func:`turn` takes ``lock``: a lock the processes forked in the
    block share makes them take turns; with ``release``, each process hands back the memory
    it freed before its turn (a long report's: for a short one it costs more than it saves,
    0.02-0.04 s of collecting before each pandoc run, the PDF writer's on the critical path:
    the embedded report's cold build 1.68 -> 1.64 s, median of 12 alternating runs, the peak
    the same; x10 7.63 -> 7.33 s, the peak 440 -> 450-480 MiB)."""
    global _lock, _release
    saved, _lock = (_lock, _release), lock
    _release = release
    try:
        yield
    finally:
        _lock, _release = saved


@contextlib.contextmanager
def turn() -> Iterator[None]:
    """Hold it while a memory-hungry helper runs (outside :func:`shared`, or inside a turn
    this process holds, nothing to do)."""
    global _held
    if _lock is None or _held:
        yield
        return
    with _lock:
        if _release:
            release_memory()
        _held = True
        try:
            yield
        finally:
            _held = False


def release_memory() -> None:
    """Hand the memory this process has freed back to the system: glibc keeps it otherwise
    (a 25-page contents' layout left 100 MiB behind). Not for every call: it costs about as
    much as a short chapter's layout."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc's; elsewhere nothing to do
