"""Keep freed memory in the training process instead of handing it back to the OS (glibc only).

A CPU training step allocates and frees the same few hundred MB every step: activations saved for
the backward pass, vocabulary-sized logits and their gradients (~100 MB each for a 49k vocabulary),
gradients. By default glibc's malloc serves blocks above a threshold (at most 32 MB) with fresh
``mmap`` calls and returns freed memory at the top of its heap to the OS, so every step
page-faults all of it in again: 0.7-1 s of kernel time per step for SmolLM2-135M on
``benchmarks/trainer_vs_trl.py``'s configuration, about a tenth of the training pass. With
``mmap`` off and trimming at 2 GiB, freed blocks are reused from the heap (~0 s). The process
keeps about its peak memory (there: +0.5 GB resident, flat from the second step on).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to reuse freed memory (see the module docstring); False where there is
    no glibc ``mallopt`` (macOS, musl), which leaves the allocator as it is."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1)) and bool(mallopt(M_MMAP_MAX, 0))
