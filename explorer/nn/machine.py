"""What this CPU offers that the speed work depends on, read from the operating system.

Sizes tuned to one CPU's cache do not carry to another (an AMD EPYC core has a quarter of the
L2 cache of the Xeon the chunk sizes were first measured on, and 16 MB of L3 behind it), so they
are derived from the cache sizes of the machine the code runs on.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
from functools import lru_cache
from pathlib import Path

DEFAULT_L2_BYTES = 1 << 21  # 2 MB, when the OS does not say
_SYSFS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
VECTOR_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")


def parse_size(text: str) -> int:
    """'2048K' -> 2097152 (sysfs writes cache sizes like this)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a cache size: {text!r}")
    return int(match[1]) * _UNITS[match[2].upper()]


def count_cpus(cpu_list: str) -> int:
    """'0-3,8-11' -> 8 (sysfs lists the CPUs that share a cache like this)."""
    count = 0
    for part in cpu_list.strip().split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def cache_from_sysfs(cache_dir: Path, level: int) -> tuple[int, int] | None:
    """(bytes, CPUs sharing it) of the data or unified cache of this level, or None."""
    for index in sorted(cache_dir.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            if (index / "level").read_text().strip() != str(level) or kind not in ("Unified", "Data"):
                continue
            size = parse_size((index / "size").read_text())
            shared = index / "shared_cpu_list"
            return size, count_cpus(shared.read_text()) if shared.exists() else 1
        except (OSError, ValueError):
            continue
    return None


def l2_from_sysfs(cache_dir: Path) -> int | None:
    cache = cache_from_sysfs(cache_dir, 2)
    return cache[0] if cache else None


@lru_cache(maxsize=None)
def l2_cache_bytes() -> int:
    """One core's L2 cache in bytes: from sysfs (Linux), else sysconf, else 2 MB."""
    size = l2_from_sysfs(_SYSFS_CACHE)
    if not size:
        try:
            size = os.sysconf("SC_LEVEL2_CACHE_SIZE")
        except (ValueError, OSError, AttributeError):
            size = None
    return size if size and size > 0 else DEFAULT_L2_BYTES


@lru_cache(maxsize=None)
def l3_share_bytes() -> int | None:
    """One core's share of the L3 cache in bytes (its size over the CPUs sharing it), from sysfs."""
    cache = cache_from_sysfs(_SYSFS_CACHE, 3)
    return cache[0] // cache[1] if cache else None


# Work done a chunk at a time (im2col rows, an optimizer's slices) fills the L2 when it holds
# 2 MB (the Xeon the sizes were first measured on), else 2 MB of the core's share of the L3.
# Smaller chunks paid more per chunk (a BLAS call and its packing, NumPy's calls) than the smaller
# cache saved: on an AMD EPYC core (512 KB of L2, 16 MB of L3 share), chunks sized to the L2 made
# DeepConvNet 19% slower, LeNet 11%, the TF CNN 8%, and the Keras MLP's optimizer update 20%
# (RMSprop) to 30-40% (Adam) slower.
AMORTISED_CHUNK_BYTES = 1 << 21


def working_cache(l2: int, l3_share: int | None) -> int:
    """Bytes of the cache a chunk of work fills, on a core with these caches (see above)."""
    return l2 if l3_share is None else max(l2, min(AMORTISED_CHUNK_BYTES, l3_share))


@lru_cache(maxsize=None)
def working_cache_bytes() -> int:
    """working_cache() of this machine."""
    return working_cache(l2_cache_bytes(), l3_share_bytes())


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """'Intel(R) Xeon(R) Processor; avx2 avx512f ...; L2 2 MB, L3 1.5 MB per core' for benchmark reports."""
    model, flags = "unknown CPU", set()
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    vectors = " ".join(name for name in VECTOR_EXTENSIONS if name in flags) or "no AVX"
    l3 = f", L3 {l3_share_bytes() / 2**20:g} MB" if l3_share_bytes() else ""
    return f"{model}; {vectors}; L2 {l2_cache_bytes() / 2**20:g} MB{l3} per core"


# A container (`docker run --cpus 2`, a cloud's app on a big shared machine) may run on all of
# the machine's cores yet be allowed only a few cores' worth of processor time: the limit sits in
# its cgroup, and the affinity mask does not show it. Training 15 networks at once under a
# 2-core limit would leave no time for clicks.
_PROC_CGROUP = Path("/proc/self/cgroup")
_CGROUP_MOUNT = Path("/sys/fs/cgroup")


def _v2_limit(folder: Path) -> float | None:
    """cgroup v2's cpu.max: "max 100000" (no limit) or "200000 100000" (2 CPUs' worth)."""
    quota, _, period = (folder / "cpu.max").read_text().partition(" ")
    return None if quota == "max" else int(quota) / int(period)


def _v1_limit(folder: Path) -> float | None:
    """cgroup v1's cpu.cfs_quota_us over cpu.cfs_period_us; a quota of -1 is no limit."""
    quota = int((folder / "cpu.cfs_quota_us").read_text())
    return None if quota < 0 else quota / int((folder / "cpu.cfs_period_us").read_text())


def _folders_up(root: Path, path: str) -> list[Path]:
    """The cgroup's folder under this mount and every folder above it that exists: a limit set
    on any of them holds. (Inside a container its own cgroup is usually the mount's root.)"""
    folder = root / path.strip("/")
    return [f for f in (folder, *folder.parents) if f.is_relative_to(root) and f.is_dir()]


def cgroup_cpu_limit(proc_cgroup: Path = _PROC_CGROUP, mount: Path = _CGROUP_MOUNT) -> float | None:
    """CPUs' worth of processor time this process may use (the tightest limit on its cgroup and
    the ones above it), or None when nothing limits it. Reads cgroup v2 and v1 (Linux)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue  # not "id:controllers:path"
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: one hierarchy, at the mount or (hybrid) under unified/
            places, read = (mount, mount / "unified"), _v2_limit
        elif "cpu" in controllers.split(","):
            places, read = (mount / "cpu", mount / "cpu,cpuacct"), _v1_limit
        else:
            continue
        for folder in (f for root in places for f in _folders_up(root, path)):
            try:
                limits.append(read(folder))
            except (OSError, ValueError):
                continue
    return min((limit for limit in limits if limit), default=None)


def allowed_cores(cores: int, cpu_limit: float | None) -> int:
    """Cores worth using: those the process may run on, fewer under a cgroup's limit (rounded up:
    1.5 CPUs' worth still keeps two cores busy part of the time)."""
    return cores if cpu_limit is None else max(1, min(cores, math.ceil(cpu_limit)))


@lru_cache(maxsize=None)
def usable_cores() -> int:
    """allowed_cores() of this process: its CPU affinity and its cgroup's limit."""
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may run on (Linux)
    except AttributeError:
        cores = os.cpu_count() or 1
    return allowed_cores(cores, cgroup_cpu_limit())


# glibc gives a big freed block's pages back to the OS (a block of its own pages is unmapped; free
# memory at the top of the heap is trimmed), and the next step's array of the same size touches
# fresh pages, a page fault each: 225 per step of Zhou's CNN at batch 32, 1,100 per step of
# DeepConvNet. On a virtual machine where a fault costs microseconds that was a third of Zhou's
# step (AMD EPYC, 2026-12-04). Blocks of a step's sizes (DeepConvNet's biggest: 14 MB at an
# evaluation batch of 250) are kept for reuse instead; a class's peak memory did not grow.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
KEEP_FREED_BYTES = 16 << 20  # free memory an arena keeps before trimming it back to the OS
OWN_PAGES_FROM_BYTES = 16 << 20  # blocks this big (whole datasets) still get pages of their own


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse freed blocks of every per-step size instead of handing them back
    to the OS after each step. Returns whether it applied (False off glibc: macOS, musl)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, OWN_PAGES_FROM_BYTES) and libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
    except (OSError, AttributeError):
        return False
