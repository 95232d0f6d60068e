"""explorer/nn/machine.py: cache sizes and the CPU's description come from the OS."""

import subprocess
import sys

import pytest

from explorer.nn import conv
from explorer.nn import machine
from explorer.nn import optimizers


def _cache_index(root, number, level, kind, size, shared_by=None):
    index = root / f"index{number}"
    index.mkdir(parents=True)
    (index / "level").write_text(f"{level}\n")
    (index / "type").write_text(f"{kind}\n")
    (index / "size").write_text(f"{size}\n")
    if shared_by is not None:
        (index / "shared_cpu_list").write_text(f"{shared_by}\n")


@pytest.mark.parametrize("text, size", [("2048K", 2 << 20), ("512K", 512 << 10), ("1M", 1 << 20), ("32768", 32768)])
def test_parse_size_reads_what_sysfs_writes(text, size):
    assert machine.parse_size(text) == size


def test_parse_size_refuses_anything_else():
    with pytest.raises(ValueError):
        machine.parse_size("lots")


def test_l2_is_read_from_the_level_2_cache_not_l1_or_l3(tmp_path):
    _cache_index(tmp_path, 0, 1, "Data", "48K")
    _cache_index(tmp_path, 1, 1, "Instruction", "32K")
    _cache_index(tmp_path, 2, 2, "Unified", "512K")  # an AMD EPYC core
    _cache_index(tmp_path, 3, 3, "Unified", "32768K")
    assert machine.l2_from_sysfs(tmp_path) == 512 << 10


def test_no_cache_information_gives_none(tmp_path):
    assert machine.l2_from_sysfs(tmp_path) is None
    assert machine.cache_from_sysfs(tmp_path, 3) is None


@pytest.mark.parametrize("cpu_list, count", [("0", 1), ("0-1", 2), ("0-3,8-11", 8), ("0,2,4", 3)])
def test_count_cpus_reads_sysfs_cpu_lists(cpu_list, count):
    assert machine.count_cpus(cpu_list) == count


def test_l3_comes_with_the_number_of_cpus_that_share_it(tmp_path):
    _cache_index(tmp_path, 2, 2, "Unified", "512K", shared_by="0")
    _cache_index(tmp_path, 3, 3, "Unified", "32768K", shared_by="0-1")
    assert machine.cache_from_sysfs(tmp_path, 3) == (32 << 20, 2)
    assert machine.cache_from_sysfs(tmp_path, 2) == (512 << 10, 1)


@pytest.mark.parametrize("l2, l3_share, working", [
    (2 << 20, 1536 << 10, 2 << 20),  # the Xeon the chunks were first measured on: its L2
    (512 << 10, 16 << 20, 2 << 20),  # an AMD EPYC core: 2 MB of its L3 share, not its small L2
    (1 << 20, 1 << 20, 1 << 20),     # an L3 share no bigger than the L2: the L2
    (512 << 10, None, 512 << 10),    # no L3 known: the L2
    (4 << 20, 32 << 20, 4 << 20),    # a big L2 is used whole
])  # fmt: skip
def test_work_fills_the_l2_or_two_megabytes_of_the_l3_share(l2, l3_share, working):
    assert machine.working_cache(l2, l3_share) == working


def test_cpu_description_names_the_model_and_its_vector_extensions(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma\n\n"
                       "processor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma\n")  # fmt: skip
    text = machine.cpu_description(cpuinfo)
    assert text.startswith("AMD EPYC 7B13; sse4_2 avx avx2 fma;") and "avx512f" not in text


def test_the_chunk_sizes_follow_this_machines_caches():
    working = machine.working_cache(machine.l2_cache_bytes(), machine.l3_share_bytes())
    assert conv.CHUNK_BYTES == min(max(working, 1 << 18), 1 << 23)
    assert conv.ONE_CHANNEL_CHUNK_BYTES == 2 * conv.CHUNK_BYTES
    assert optimizers.CHUNK == max(1 << 12, working // 32)  # float32 slices of an eighth of it


# Seven arrays of 700 KB, made and freed as a training step does, then made again: the pages the
# second round touches that were not already the process's (minor page faults).
_A_STEP_TWICE = """
import resource, sys
{setup}
import numpy as np
def step():
    arrays = [np.ones(175_000, np.float32) for _ in range(7)]
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _new_pages_in_a_second_step(setup: str) -> int:
    code = _A_STEP_TWICE.format(setup=setup)
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_importing_the_core_keeps_freed_arrays_pages_for_the_next_step():
    pages_of_a_step = 7 * 700_000 // 4096
    if not sys.platform.startswith("linux") or _new_pages_in_a_second_step("") < pages_of_a_step // 2:
        pytest.skip("this C library's malloc already keeps freed blocks for reuse")
    assert _new_pages_in_a_second_step("import explorer.nn") < pages_of_a_step // 20


def _cgroup_file(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text + "\n")


def _proc_cgroup(tmp_path, *lines):
    path = tmp_path / "proc-self-cgroup"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_cgroup_v2_limit_is_read_from_cpu_max(tmp_path):
    mount = tmp_path / "cgroup"
    _cgroup_file(mount, "cpu.max", "max 100000")  # the root: no limit
    _cgroup_file(mount / "app", "cpu.max", "150000 100000")
    assert machine.cgroup_cpu_limit(_proc_cgroup(tmp_path, "0::/app"), mount) == 1.5


def test_the_tightest_limit_above_the_cgroup_holds(tmp_path):
    mount = tmp_path / "cgroup"
    _cgroup_file(mount / "class", "cpu.max", "100000 100000")
    _cgroup_file(mount / "class" / "app", "cpu.max", "400000 100000")
    assert machine.cgroup_cpu_limit(_proc_cgroup(tmp_path, "0::/class/app"), mount) == 1.0


def test_a_cgroup_v1_quota_over_its_period(tmp_path):
    mount = tmp_path / "cgroup"
    # Inside a container its cgroup is the mount's root; /proc still names the host's path.
    _cgroup_file(mount / "cpu,cpuacct", "cpu.cfs_quota_us", "50000")
    _cgroup_file(mount / "cpu,cpuacct", "cpu.cfs_period_us", "100000")
    proc = _proc_cgroup(tmp_path, "4:memory:/docker/abc", "3:cpu,cpuacct:/docker/abc", "0::/")
    assert machine.cgroup_cpu_limit(proc, mount) == 0.5


def test_no_quota_no_cgroup_file_or_no_cgroups_is_no_limit(tmp_path):
    mount = tmp_path / "cgroup"
    _cgroup_file(mount / "cpu", "cpu.cfs_quota_us", "-1")
    _cgroup_file(mount / "cpu", "cpu.cfs_period_us", "100000")
    assert machine.cgroup_cpu_limit(_proc_cgroup(tmp_path, "1:cpu:/", "0::/"), mount) is None
    assert machine.cgroup_cpu_limit(_proc_cgroup(tmp_path, "0::/"), tmp_path / "empty") is None
    assert machine.cgroup_cpu_limit(tmp_path / "no-proc-file", mount) is None
    assert machine.cgroup_cpu_limit(_proc_cgroup(tmp_path, "garbled", ""), mount) is None


@pytest.mark.parametrize("cores, limit, allowed", [(2, None, 2), (16, 2.0, 2), (16, 1.5, 2), (2, 0.7, 1), (2, 4.0, 2)])
def test_a_cgroup_limit_caps_the_cores_worth_using(cores, limit, allowed):
    assert machine.allowed_cores(cores, limit) == allowed
