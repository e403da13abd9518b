#pragma once
// Chunks of lines handed out one at a time from a shared counter: ragged lines and a busy core do not leave
// one thread with the tail (a static split waits for its slowest half).

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace fastprep {
namespace text {
namespace detail {

// Below this much text one thread is faster than waking the pool.
constexpr int64_t kMinParallelBytes = 1 << 16;

// Calls body(next) once per task; body loops `for (int64_t c; (c = next()) >= 0;)` and keeps its scratch
// buffers across the chunks it takes. A chunk's growing output belongs in a task-local buffer, handed over at
// the chunk's end: per-chunk containers sit side by side in memory, and appending to them from several
// threads writes shared cache lines on every element (false sharing: 1.1x from a second thread, not 1.9x).
template <class Body>
void parallel_chunks(int64_t nchunks, int64_t nbytes, const Body& body) {
  std::atomic<int64_t> counter{0};
  auto next = [&]() -> int64_t {
    const int64_t c = counter.fetch_add(1, std::memory_order_relaxed);
    return c < nchunks ? c : -1;
  };
  const int64_t tasks =
      nbytes < kMinParallelBytes ? 1 : std::min<int64_t>(at::get_num_threads(), nchunks);
  if (tasks <= 1) {
    body(next);
    return;
  }
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      body(next);
    }
  });
}

} // namespace detail
} // namespace text
} // namespace fastprep
