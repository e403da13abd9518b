#pragma once
// Large uninitialized CPU outputs backed by transparent huge pages where Linux offers them
// (madvise mode): a padded [B, L] id tensor is often 50-200 MB, and first-touch faults on 4 KiB
// pages cost several times the writes themselves.

#include <ATen/ATen.h>

#include <cstdint>
#include <cstdlib>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace fastprep {
namespace text {
namespace detail {

inline at::Tensor empty_large(at::IntArrayRef sizes, at::ScalarType dtype) {
  constexpr int64_t kHugePage = int64_t{1} << 21;
  int64_t numel = 1;
  for (const int64_t s : sizes) {
    numel *= s;
  }
  const int64_t nbytes = numel * static_cast<int64_t>(c10::elementSize(dtype));
#ifdef __linux__
  if (nbytes >= 4 * kHugePage) {
    const size_t rounded = static_cast<size_t>((nbytes + kHugePage - 1) / kHugePage * kHugePage);
    void* p = nullptr;
    if (posix_memalign(&p, static_cast<size_t>(kHugePage), rounded) == 0) {
      (void)madvise(p, rounded, MADV_HUGEPAGE); // a hint: without THP the pages are just regular
      return at::from_blob(p, sizes, [](void* q) { std::free(q); }, at::TensorOptions().dtype(dtype));
    }
  }
#endif
  return at::empty(sizes, at::TensorOptions().dtype(dtype));
}

} // namespace detail
} // namespace text
} // namespace fastprep
