// threadpool.h — the addon's own worker threads for splitting big kernels.
//
// One process-wide pool (libuv's four threads are shared with fs, dns and
// crypto, so kernels never borrow them). parallel_for(tasks, fn) calls
// fn(task_index) for every index in [0, tasks), the caller taking part. Only
// one parallel region runs at a time; a caller that finds the pool busy (another
// worker_thread is using it) runs its tasks serially itself, so concurrent
// callers never deadlock and never see each other's work.
#pragma once
#include <cstdint>
#include <functional>

namespace lw {

// Number of threads a parallel region may use (including the caller).
int num_threads();
// Sets it; n < 1 means the number of cores. Takes effect for the next region.
void set_num_threads(int n);

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);

}  // namespace lw
