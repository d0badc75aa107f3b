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


@contextlib.contextmanager
def shared(lock: contextlib.AbstractContextManager[Any]) -> Iterator[None]:
    """While the block runs, :func:`turn` takes ``lock``: a lock the processes forked in the
    block share makes them take turns."""
    global _lock
    saved, _lock = _lock, lock
    try:
        yield
    finally:
        _lock = saved


@contextlib.contextmanager
def turn() -> Iterator[None]:
    """Hold it while a memory-hungry helper runs (outside :func:`shared`, or inside a turn
    this process holds, nothing to do)."""
    global _held
    if _lock is None or _held:
        yield
        return
    with _lock:
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
