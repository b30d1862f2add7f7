// The persistent worker pool behind parallel.h.
//
// One job at a time. The job's task count rides in the same atomic word as its generation number, so a worker
// reads "is there a new job, and is there a task for me" in one load; worker w (1-based) runs task w of a job with
// more than w tasks and then counts itself done. The caller runs task 0 and waits until every task is done, so the
// job (which lives on the caller's stack) outlives every reader.
#include "parallel.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define BK_PAUSE() _mm_pause()
#else
#define BK_PAUSE() std::this_thread::yield()
#endif

extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace batcoder {
namespace {

int g_threads = [] {
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? int(std::min(hc, 8u)) : 2;
}();

// How long an idle worker (or the waiting caller) spins before it sleeps / yields.
constexpr auto kSpin = std::chrono::microseconds(100);
constexpr int kTaskBits = 10;  // tasks per job < 1024

thread_local bool t_inside = false;

struct Pool {
  std::mutex run_mu;  // one job at a time
  std::mutex mu;      // guards sleeping on cv
  std::condition_variable cv;
  std::atomic<uint64_t> word{0};  // (generation << kTaskBits) | tasks
  std::atomic<int> done{0};
  const std::function<void(int)>* task = nullptr;
  int workers = 0;

  // seen: the generation already published when the worker was made (it waits for the next one)
  void worker(int w, uint64_t seen) {
    t_inside = true;
    for (;;) {
      uint64_t cur = word.load(std::memory_order_acquire);
      if ((cur >> kTaskBits) == seen) {
        auto until = std::chrono::steady_clock::now() + kSpin;
        for (int i = 0; (cur = word.load(std::memory_order_acquire)) >> kTaskBits == seen; i++) {
          BK_PAUSE();
          if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lk(mu);
            cv.wait(lk, [&] { return (word.load(std::memory_order_acquire) >> kTaskBits) != seen; });
          }
        }
      }
      seen = cur >> kTaskBits;
      int n = int(cur & ((1u << kTaskBits) - 1));
      if (w < n) {
        (*task)(w);
        done.fetch_add(1, std::memory_order_acq_rel);
      }
    }
  }

  void run(int n, const std::function<void(int)>& fn) {
    std::lock_guard<std::mutex> one(run_mu);
    while (workers < n - 1) {
      int w = ++workers;
      uint64_t seen = word.load(std::memory_order_relaxed) >> kTaskBits;
      std::thread([this, w, seen] { worker(w, seen); }).detach();
    }
    done.store(0, std::memory_order_relaxed);
    task = &fn;
    {
      std::lock_guard<std::mutex> lk(mu);
      uint64_t gen = (word.load(std::memory_order_relaxed) >> kTaskBits) + 1;
      word.store((gen << kTaskBits) | uint64_t(n), std::memory_order_release);
    }
    cv.notify_all();
    t_inside = true;
    fn(0);
    t_inside = false;
    auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; done.load(std::memory_order_acquire) < n - 1; i++) {
      BK_PAUSE();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until)
        std::this_thread::yield();
    }
    task = nullptr;
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its detached workers may outlive static destruction
  return *p;
}

}  // namespace

int threads() {
  return g_threads;
}

void set_threads(int n) {
  if (n < 1)
    n = 1;
  if (n >= (1 << kTaskBits))
    n = (1 << kTaskBits) - 1;
  g_threads = n;
  openblas_set_num_threads(n);
}

void pool_run(int n, const std::function<void(int)>& task) {
  if (n <= 0)
    return;
  if (n == 1 || t_inside) {
    for (int t = 0; t < n; t++)
      task(t);
    return;
  }
  pool().run(n, task);
}

BlasSingleThread::BlasSingleThread(bool on) : prev(openblas_get_num_threads()), active(on && prev > 1) {
  if (active)
    openblas_set_num_threads(1);
}

BlasSingleThread::~BlasSingleThread() {
  if (active)
    openblas_set_num_threads(prev);
}

}  // namespace batcoder
