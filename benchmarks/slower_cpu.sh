#!/usr/bin/env bash
# Run a command as on a slower machine without AVX-512, to estimate a class server's figures there:
# NumPy's and OpenBLAS's AVX2 kernels, and the command, with everything it starts, held to CPUS
# cores' worth of processor time by a cgroup (Linux, as root). README ("A slower CPU, imitated")
# tells how 0.9 of this 2-core Zen 4 compared with a real AVX2-only Zen 1.
#
#   benchmarks/slower_cpu.sh 0.9 .venv/bin/python benchmarks/classroom.py --in-step
set -euo pipefail
cpus=$1
shift
period=10000  # microseconds: a short period spreads the limit evenly instead of long stalls
quota=$(awk -v cpus="$cpus" -v period="$period" 'BEGIN { printf "%d", cpus * period }')
if [ -d /sys/fs/cgroup/cpu ]; then  # cgroup v1
    group=/sys/fs/cgroup/cpu/explorer-slower-$$
    mkdir "$group"
    echo "$period" > "$group/cpu.cfs_period_us"
    echo "$quota" > "$group/cpu.cfs_quota_us"
else  # cgroup v2
    echo +cpu > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    group=/sys/fs/cgroup/explorer-slower-$$
    mkdir "$group"
    echo "$quota $period" > "$group/cpu.max"
fi
trap 'rmdir "$group"' EXIT
(
    echo "$BASHPID" > "$group/cgroup.procs"
    exec env NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell "$@"
)
