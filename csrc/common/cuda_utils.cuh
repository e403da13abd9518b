#pragma once
// Launch helpers shared by the CUDA kernels.

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include <algorithm>
#include <cstdint>

namespace fastprep {
namespace detail {

constexpr int kThreadsPerBlock = 256;

// Grid for a grid-stride loop over n elements: capped so huge inputs reuse
// blocks instead of overflowing gridDim.x.
inline unsigned int capped_grid(int64_t n, int threads = kThreadsPerBlock) {
  const int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 32;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(blocks, cap)));
}

} // namespace detail
} // namespace fastprep
