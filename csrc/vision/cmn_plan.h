#pragma once
// Host-side argument handling shared by every vision op on every backend: the
// ops are all one crop + flip + convert + normalize loop with different
// arguments, so they validate and lay out their tensors in one place and hand
// a Plan to the backend engine (cpu/cmn_engine.cpp, cuda/cmn_engine.cu).

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <c10/util/OptionalArrayRef.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace fastprep {
namespace vision {
namespace detail {

// A [N, C, H, W] strided view of the input, a [N, C, OH, OW] strided view of
// the output, and the per-channel constants, as doubles (the engines round
// them to the output dtype exactly as torchvision's as_tensor(..., dtype) does).
struct Plan {
  at::Tensor in4;
  at::Tensor out;
  at::Tensor out4;
  bool convert = false; // false: plain copy (crop / flip), dtype unchanged
  bool norm = false;
  bool fast = false;
  double scale = 1.0; // 1/255 for uint8 with scale=True (ToDtype(scale=True)); 1 otherwise
  std::vector<double> mean, stdv, fill; // length C each
};

// One window for every sample, or per-sample windows [N, 4] and flips [N, 2] (CPU or device tensors).
struct Windows {
  int64_t top = 0, left = 0;
  bool flip_h = false, flip_v = false;
  at::Tensor per_sample; // int64 [N, 4] or undefined
  at::Tensor flips;      // bool [N, 2] or undefined
};

} // namespace detail
} // namespace vision
} // namespace fastprep
