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

inline bool is_supported_float(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

inline std::vector<double> per_channel(c10::OptionalArrayRef<double> v, int64_t C, double dflt, const char* name) {
  if (!v.has_value()) {
    return std::vector<double>(C, dflt);
  }
  const auto& a = *v;
  TORCH_CHECK(a.size() == 1 || static_cast<int64_t>(a.size()) == C, name, " must have 1 or C=", C,
              " elements (one per channel), got ", a.size());
  if (a.size() == 1) {
    return std::vector<double>(C, a[0]);
  }
  return std::vector<double>(a.begin(), a.end());
}

// input [..., C, H, W] (or [..., H, W, C] when input_hwc) -> Plan with an output of [..., C, oh, ow].
inline Plan make_plan(const at::Tensor& input, int64_t oh, int64_t ow, c10::OptionalArrayRef<double> mean,
                      c10::OptionalArrayRef<double> std, bool scale, std::optional<at::ScalarType> dtype,
                      bool input_hwc, bool channels_last, c10::OptionalArrayRef<double> fill, bool fast,
                      bool batched) {
  TORCH_CHECK_VALUE(input.dim() >= 3, "Expected tensor to be a tensor image of size (..., C, H, W). Got ",
                    input.sizes(), ".");
  TORCH_CHECK_VALUE(!batched || input.dim() == 4, "the batched form expects a [N, C, H, W] (or [N, H, W, C]) batch, got shape ",
                    input.sizes());
  TORCH_CHECK_VALUE(oh >= 0 && ow >= 0, "crop height and width must be non-negative, got (", oh, ", ", ow, ")");
  TORCH_CHECK_VALUE(mean.has_value() == std.has_value(), "mean and std must be given together");
  const auto in_t = input.scalar_type();
  const bool int_in = in_t == at::kByte;
  TORCH_CHECK_TYPE(int_in || is_supported_float(in_t),
                   "expected a uint8 or floating point (float32, float64, float16, bfloat16) image, got ", in_t);
  const bool norm = mean.has_value();
  at::ScalarType out_t;
  if (dtype.has_value()) {
    out_t = *dtype;
  } else if (int_in && (scale || norm)) {
    out_t = at::kFloat;
  } else {
    out_t = in_t;
  }
  const bool convert = norm || out_t != in_t;
  TORCH_CHECK_TYPE(!convert || is_supported_float(out_t),
                   "output dtype must be float32, float64, float16 or bfloat16 when converting or normalizing, got ",
                   out_t);

  at::Tensor v = input_hwc ? input.movedim(-1, -3) : input; // a view: strides carry the layout
  const int64_t C = v.size(-3), H = v.size(-2), W = v.size(-1);
  (void)H;
  (void)W;
  std::vector<int64_t> lead(v.sizes().begin(), v.sizes().end() - 3);

  Plan p;
  p.convert = convert;
  p.norm = norm;
  p.fast = fast && norm;
  p.scale = (int_in && scale) ? 1.0 / 255.0 : 1.0;
  p.mean = per_channel(mean, C, 0.0, "mean");
  p.stdv = per_channel(std, C, 1.0, "std");
  p.fill = per_channel(fill, C, 0.0, "fill");
  for (double s : p.stdv) {
    TORCH_CHECK_VALUE(s != 0.0, "std evaluated to zero, leading to division by zero.");
  }
  // reshape is a view whenever the leading dims collapse; otherwise it copies once (documented).
  p.in4 = v.reshape({-1, C, v.size(-2), v.size(-1)});

  auto opts = input.options().dtype(out_t);
  std::vector<int64_t> shape = lead;
  if (channels_last) {
    shape.insert(shape.end(), {oh, ow, C});
    p.out = at::empty(shape, opts).movedim(-1, -3);
  } else {
    shape.insert(shape.end(), {C, oh, ow});
    p.out = at::empty(shape, opts);
  }
  p.out4 = p.out.reshape({-1, C, oh, ow});
  TORCH_INTERNAL_ASSERT(p.out4.data_ptr() == p.out.data_ptr() || p.out.numel() == 0);
  return p;
}

inline Windows batched_windows(const at::Tensor& windows, const at::Tensor& flips, const at::Tensor& input,
                               int64_t n) {
  TORCH_CHECK_VALUE(windows.dim() == 2 && windows.size(0) == n && windows.size(1) == 4,
                    "windows must be an int64 tensor of shape [N, 4] = (top, left, height, width) with N=", n,
                    ", got shape ", windows.sizes());
  TORCH_CHECK_TYPE(windows.scalar_type() == at::kLong, "windows must be int64, got ", windows.scalar_type());
  TORCH_CHECK_VALUE(flips.dim() == 2 && flips.size(0) == n && flips.size(1) == 2,
                    "flips must be a bool tensor of shape [N, 2] = (horizontal, vertical) with N=", n, ", got shape ",
                    flips.sizes());
  TORCH_CHECK_TYPE(flips.scalar_type() == at::kBool, "flips must be bool, got ", flips.scalar_type());
  TORCH_CHECK(windows.device() == input.device() && flips.device() == input.device(),
              "windows and flips must be on the input's device ", input.device(), ", got ", windows.device(), " and ",
              flips.device());
  Windows w;
  w.per_sample = windows.contiguous();
  w.flips = flips.contiguous();
  return w;
}

} // namespace detail
} // namespace vision
} // namespace fastprep
