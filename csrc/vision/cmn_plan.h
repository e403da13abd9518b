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

// The input and output as [N, C, H, W] / [N, C, OH, OW] geometries (sizes and
// element strides, leading dims collapsed into N) and the per-channel
// constants, as doubles (the engines round them to the output dtype exactly as
// torchvision's as_tensor(..., dtype) does). Plain numbers rather than view
// tensors: each view op costs a dispatcher round trip per call.
struct Plan {
  at::Tensor in;
  at::Tensor out;
  int64_t N = 0, C = 0, H = 0, W = 0, OH = 0, OW = 0;
  int64_t is[4] = {0, 0, 0, 0}; // input strides (n, c, h, w)
  int64_t os[4] = {0, 0, 0, 0}; // output strides (n, c, h, w)
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
