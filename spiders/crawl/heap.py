"""How the crawl's processes hand freed memory back to the system (glibc; elsewhere nothing).

A crawl's memory is mostly transient: a page's body, its decoded text, its tree, its
Markdown and the pickles that carry them between processes are freed once the page is
stored. Freed memory is still the process's RSS until glibc gives it back, so two calls:

- `map_large_allocations()`: every block of 128 KiB or more gets pages of its own,
  returned to the system the moment it is freed. glibc's default starts there too but
  raises the threshold each time such a block is freed (up to 32 MiB), after which big
  pages' bodies and texts come from the heap, where their freed pages stay. Measured
  (bench/crawl.py, the 5,000-page mix, whose Dask source listings of 0.7-1.2 MB are read
  two at a time): peak 230.9/231.3 -> 224.4/224.5 MB summed, same speed; 500 Dask pages
  206.4-207.2 -> 205.3-206.1.
- `trim_memory()`: malloc_trim(0), what is free inside the heap goes back too (~0.1 ms).
"""
from __future__ import annotations

import ctypes
from typing import Any, Callable

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BLOCK = 128 * 1024  # glibc's own starting threshold, kept fixed


def _libc_call(name: str) -> Callable[..., Any] | None:
    """A glibc function called holding the GIL (PyDLL): a CDLL call lets it go and must take it
    back afterwards, behind whichever thread took it meanwhile (the pool's feeder unpickling a
    page, a web request): in a crawl process that cost ~0.9 ms of the reactor's time a call."""
    try:
        return getattr(ctypes.PyDLL(None), name)
    except (AttributeError, OSError):
        return None


_trim = _libc_call("malloc_trim")
_mallopt = _libc_call("mallopt")


def trim_memory() -> None:
    """Give the heap's free memory back to the system: ~0.1 ms."""
    if _trim is not None:
        _trim(0)


def map_large_allocations() -> None:
    """From now on, blocks of `LARGE_BLOCK` or more go back to the system when freed (idempotent)."""
    if _mallopt is not None:
        _mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)
