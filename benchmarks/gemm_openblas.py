#!/usr/bin/env python3
"""OpenBLAS sgemm through numpy: the reference line for `npm run bench`.

Usage: gemm_openblas.py --threads 1,2 --shapes JSON [--budget SECONDS]

--shapes is a JSON list of {"name", "m", "n", "k", "transA", "transB", "fresh"?} with
the same meaning as layerwise's matmul: C[m×n] = op(A)·op(B), where A is
stored k×m when transA and B is stored n×k when transB. Transposed operands
are passed as numpy transposed views, which numpy hands to cblas_sgemm as a
transpose flag (no copy), so OpenBLAS runs the same product we do. The
product writes into one preallocated output, or with "fresh": true into a new
array each call (`a @ b`, what a numpy user writes).

Prints one JSON object: OpenBLAS version, the core type it runs (its own
openblas_get_corename()), how the thread count was set, and per thread count
and shape the median seconds and GFLOP/s. As in run.ts, a measurement during
which other processes kept the CPUs busy is re-run, and flagged if it stays
disturbed.

The caller (benchmarks/run.ts) unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
for this process only: some machines set them to dodge bugs in old OpenBLAS
builds, and a forced core type slows a current one.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np


def find_openblas():
    """The libopenblas numpy loaded, found in our own memory map."""
    try:
        with open('/proc/self/maps') as maps:
            for line in maps:
                path = line.split()[-1]
                if 'openblas' in os.path.basename(path) and '.so' in path:
                    return path
    except OSError:
        pass
    return None


class Threads:
    """Sets OpenBLAS's thread count: threadpoolctl if installed, else the
    library's own openblas_set_num_threads (what threadpoolctl calls too)."""

    def __init__(self, lib):
        self.lib = lib
        self.method = None
        try:
            import threadpoolctl  # noqa: F401
            self.method = 'threadpoolctl'
        except ImportError:
            if lib is not None and hasattr(lib, 'openblas_set_num_threads'):
                self.method = 'openblas_set_num_threads'
            else:
                self.method = 'OPENBLAS_NUM_THREADS'

    def limit(self, n):
        if self.method == 'threadpoolctl':
            import threadpoolctl
            return threadpoolctl.threadpool_limits(limits=n, user_api='blas')
        if self.method == 'openblas_set_num_threads':
            self.lib.openblas_set_num_threads(ctypes.c_int(n))
        return None

    def current(self):
        if self.lib is not None and hasattr(self.lib, 'openblas_get_num_threads'):
            self.lib.openblas_get_num_threads.restype = ctypes.c_int
            return int(self.lib.openblas_get_num_threads())
        return None


def cpu_ticks():
    """(busy ticks of all CPUs, total ticks of all CPUs, our own ticks) or None.

    Others' CPU use over a window is Δbusy − Δown; steal counts as busy, since
    a hypervisor taking our vCPU disturbs a measurement as much as a process."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        with open('/proc/self/stat') as f:
            own = f.read().rsplit(')', 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = v
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait, int(own[11]) + int(own[12])


def others_cores(before, after):
    """Average number of CPUs that other processes kept busy between two cpu_ticks()."""
    if before is None or after is None:
        return 0.0
    total = after[1] - before[1]
    if total <= 0:
        return 0.0
    ncpu = os.cpu_count() or 1
    return max(0.0, (after[0] - before[0]) - (after[2] - before[2])) / (total / ncpu)


# A measurement during which other processes kept more than this many CPUs
# busy is re-run (after a pause), up to MAX_ATTEMPTS times in all.
DISTURBED_CORES = 0.25
MAX_ATTEMPTS = 3


def median_seconds(fn, budget, min_runs, max_runs):
    for attempt in range(1, MAX_ATTEMPTS + 1):
        fn()  # warm-up: first touch of C, OpenBLAS's buffers and threads
        samples = []
        before = cpu_ticks()
        start = time.perf_counter()
        # At least ~0.2 s per window: /proc/stat counts in 10 ms ticks.
        while len(samples) < min_runs or (time.perf_counter() - start < max(budget, 0.2) and len(samples) < max_runs):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        others = others_cores(before, cpu_ticks())
        if others <= DISTURBED_CORES or attempt == MAX_ATTEMPTS:
            break
        time.sleep(0.5 * attempt)
    return {'seconds': statistics.median(samples), 'runs': len(samples), 'othersCores': others,
            'attempts': attempt, 'disturbed': others > DISTURBED_CORES}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--shapes', required=True)
    ap.add_argument('--budget', type=float, default=0.25)
    args = ap.parse_args()
    shapes = json.loads(args.shapes)
    thread_counts = [int(t) for t in args.threads.split(',')]

    # Make numpy load OpenBLAS before we look for it.
    np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)
    path = find_openblas()
    lib = ctypes.CDLL(path) if path else None
    info = {'numpy': np.__version__, 'library': path}
    if lib is not None:
        for name in ('openblas_get_corename', 'openblas_get_config'):
            if hasattr(lib, name):
                getattr(lib, name).restype = ctypes.c_char_p
                info[name.replace('openblas_get_', '')] = getattr(lib, name)().decode()
    threads = Threads(lib)
    info['threadControl'] = threads.method
    info['env'] = {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS')}

    rng = np.random.default_rng(1)
    results = {}
    for t in thread_counts:
        if threads.method == 'OPENBLAS_NUM_THREADS' and t != int(os.environ.get('OPENBLAS_NUM_THREADS', '0') or 0):
            continue  # cannot change it in-process; the caller runs us once per count
        limiter = threads.limit(t)
        rows = []
        for s in shapes:
            m, n, k = s['m'], s['n'], s['k']
            a = rng.uniform(-1, 1, (k, m) if s['transA'] else (m, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (n, k) if s['transB'] else (k, n)).astype(np.float32)
            opa = a.T if s['transA'] else a
            opb = b.T if s['transB'] else b
            c = np.empty((m, n), np.float32)
            flops = 2.0 * m * n * k
            # Big products: fewer runs (a 2048³ sgemm is ~0.1-0.2 s).
            budget = args.budget * (2 if flops > 2e9 else 1)
            # "fresh": numpy allocates the result each call, as `a @ b` does.
            product = (lambda: opa @ opb) if s.get('fresh') else (lambda: np.matmul(opa, opb, out=c))
            r = median_seconds(product, budget, 3, 100000)
            rows.append({'name': s['name'], 'gflops': flops / r['seconds'] / 1e9, **r})
        results[str(t)] = {'threadsReported': threads.current(), 'rows': rows}
        if limiter is not None:
            limiter.restore_original_limits()
    info['results'] = results
    json.dump(info, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
