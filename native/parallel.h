// Threading for the kernels: the thread count, a small persistent worker pool, and the loops built on it.
// No N-API here. The pool's workers live for the whole process (they are never joined), spin briefly after each
// job so that the many small jobs of one decoding step do not pay a wake-up each, then sleep on a condition
// variable.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>

namespace batcoder {

// Threads the kernels (and OpenBLAS) use. set_threads also sets OpenBLAS's thread count; n < 1 counts as 1.
int threads();
void set_threads(int n);

// Runs task(t) for every t in [0, n) and returns when all are done. The calling thread runs task 0; workers run the
// others, one task each (so n should not exceed threads()). Called from inside a task, it runs the tasks serially.
void pool_run(int n, const std::function<void(int)>& task);

// While alive, OpenBLAS runs single-threaded (our own threads split the work instead).
struct BlasSingleThread {
  int prev;
  bool active;
  explicit BlasSingleThread(bool on);
  ~BlasSingleThread();
};

// Runs fn(item, slot) for item in [0, n) on up to threads() threads, items handed out dynamically; slot in
// [0, threads()) names the running thread's scratch (never used by two threads at once).
template <typename F>
void parallel_items(int64_t n, F fn) {
  int nt = int(std::min<int64_t>(threads(), n));
  if (nt <= 1) {
    for (int64_t i = 0; i < n; i++)
      fn(i, 0);
    return;
  }
  std::atomic<int64_t> next(0);
  pool_run(nt, [&](int t) {
    for (int64_t i; (i = next.fetch_add(1)) < n;)
      fn(i, t);
  });
}

// Splits [0, n) into `parts` equal contiguous chunks and runs fn(part, begin, end) for each non-empty chunk.
template <typename F>
void parallel_chunks(int64_t n, int parts, F fn) {
  if (parts <= 1) {
    fn(0, int64_t(0), n);
    return;
  }
  int64_t chunk = (n + parts - 1) / parts;
  pool_run(parts, [&](int t) {
    int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e)
      fn(t, b, e);
  });
}

// How many threads a loop of n items of work_per_item each is worth: 1 under about a million operations.
inline int threads_for(int64_t n, int64_t work_per_item) {
  int nt = threads();
  if (nt <= 1 || n < 2 || n * work_per_item < (int64_t(1) << 20))
    return 1;
  return int(std::min<int64_t>(nt, n));
}

// Runs fn(begin, end) over [0, n), split across threads when the work is large enough.
template <typename F>
void parallel_for(int64_t n, int64_t work_per_item, F fn) {
  parallel_chunks(n, threads_for(n, work_per_item), [&](int, int64_t b, int64_t e) { fn(b, e); });
}

}  // namespace batcoder
