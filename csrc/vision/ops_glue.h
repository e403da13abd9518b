#pragma once
// The op entry points, written once over the backend engine (run_cpu or
// run_cuda): every vision op is the same crop + flip + convert + normalize
// loop with different arguments.

#include "vision/cmn_plan.h"

#include <ATen/MemoryOverlap.h>
#include <ATen/native/Resize.h>
#include <c10/util/OptionalArrayRef.h>

#include <optional>
#include <vector>

namespace fastprep {
namespace vision {
namespace detail {

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
  // Plain crops and flips take any dtype; converting reads uint8 or float.
  TORCH_CHECK_TYPE(!convert || int_in || is_supported_float(in_t),
                   "expected a uint8 or floating point (float32, float64, float16, bfloat16) image, got ", in_t);
  TORCH_CHECK_TYPE(!convert || is_supported_float(out_t),
                   "output dtype must be float32, float64, float16 or bfloat16 when converting or normalizing, got ",
                   out_t);

  // Layout as numbers: CHW reads (c, h, w) = dims (-3, -2, -1), HWC reads them at (-1, -3, -2).
  const int64_t nd = input.dim();
  const int64_t dc = input_hwc ? nd - 1 : nd - 3, dh = input_hwc ? nd - 3 : nd - 2, dw = input_hwc ? nd - 2 : nd - 1;
  // Leading dims collapse into one stride when they are laid out contiguously among themselves;
  // otherwise the input is copied once (rare: e.g. a batch sliced with a step over two dims).
  at::Tensor in = input;
  auto collapsible = [&](const at::Tensor& t) {
    int64_t inner = -1; // the next non-trivial leading dim inside d
    for (int64_t d = nd - 4; d >= 0; --d) {
      if (t.size(d) == 1) continue;
      if (inner >= 0 && t.stride(d) != t.stride(inner) * t.size(inner)) return false;
      inner = d;
    }
    return true;
  };
  if (!collapsible(in)) {
    in = in.contiguous();
  }
  Plan p;
  p.in = in;
  p.C = in.size(dc);
  p.H = in.size(dh);
  p.W = in.size(dw);
  p.OH = oh;
  p.OW = ow;
  p.N = 1;
  for (int64_t d = nd - 4; d >= 0; --d) {
    p.N *= in.size(d);
  }
  // With collapsible leading dims, the innermost non-trivial one gives the per-sample stride.
  int64_t sn = 0;
  for (int64_t d = nd - 4; d >= 0; --d) {
    if (in.size(d) != 1) {
      sn = in.stride(d);
      break;
    }
  }
  p.is[0] = sn;
  p.is[1] = in.stride(dc);
  p.is[2] = in.stride(dh);
  p.is[3] = in.stride(dw);
  const int64_t C = p.C;
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
  // The fill is cast to the input dtype in the kernel: keep that cast defined (torch's fill_ raises the same way).
  if (at::isIntegralType(in_t, /*includeBool=*/false)) {
    double lo = -9.2e18, hi = 9.2e18;
    switch (in_t) {
      case at::kByte: lo = 0.0; hi = 255.0; break;
      case at::kChar: lo = -128.0; hi = 127.0; break;
      case at::kShort: lo = -32768.0; hi = 32767.0; break;
      case at::kInt: lo = -2147483648.0; hi = 2147483647.0; break;
      default: break;
    }
    for (double f : p.fill) {
      TORCH_CHECK(f > lo - 1.0 && f < hi + 1.0, "fill value ", f, " cannot be converted to type ", in_t,
                  " without overflow");
    }
  }
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end() - 3);
  shape.insert(shape.end(), {C, oh, ow});
  auto opts = input.options().dtype(out_t);
  if (channels_last) {
    p.os[1] = 1;
    p.os[3] = C;
    p.os[2] = ow * C;
  } else {
    p.os[3] = 1;
    p.os[2] = ow;
    p.os[1] = oh * ow;
  }
  p.os[0] = C * oh * ow;
  // Leading dims of the output are contiguous, outermost first.
  std::vector<int64_t> strides(shape.size());
  int64_t acc = p.os[0];
  for (int64_t d = static_cast<int64_t>(shape.size()) - 4; d >= 0; --d) {
    strides[d] = acc;
    acc *= shape[d];
  }
  const size_t k = shape.size();
  strides[k - 3] = p.os[1];
  strides[k - 2] = p.os[2];
  strides[k - 1] = p.os[3];
  p.out = at::empty_strided(shape, strides, opts);
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

using RunFn = void (*)(const Plan&, const Windows&);
// The dispatcher passes float[]? as optional<ArrayRef<double>>.
using OptDoubles = std::optional<at::ArrayRef<double>>;

inline c10::OptionalArrayRef<double> opt(const OptDoubles& v) {
  return v.has_value() ? c10::OptionalArrayRef<double>(*v) : c10::OptionalArrayRef<double>();
}

template <RunFn Run>
at::Tensor normalize_op(const at::Tensor& input, at::ArrayRef<double> mean, at::ArrayRef<double> std,
                        std::optional<at::ScalarType> dtype) {
  TORCH_CHECK_VALUE(input.dim() >= 3, "Expected tensor to be a tensor image of size (..., C, H, W). Got ",
                    input.sizes(), ".");
  Plan p = make_plan(input, input.size(-2), input.size(-1), mean, std, /*scale=*/true, dtype, false, false,
                     std::nullopt, false, false);
  Run(p, Windows{});
  return p.out;
}

template <RunFn Run>
at::Tensor& normalize_out_op(const at::Tensor& input, at::ArrayRef<double> mean, at::ArrayRef<double> std,
                             at::Tensor& out) {
  TORCH_CHECK(out.device() == input.device(), "out must be on the input's device ", input.device(), ", got ",
              out.device());
  at::Tensor res = normalize_op<Run>(input, mean, std, out.scalar_type());
  at::native::resize_output(out, res.sizes());
  // What torch's out= ops enforce: an out that partly overlaps the input is refused, a full alias is in-place.
  at::assert_no_partial_overlap(out, input);
  out.copy_(res);
  return out;
}

template <RunFn Run>
at::Tensor crop_op(const at::Tensor& input, int64_t top, int64_t left, int64_t height, int64_t width) {
  TORCH_CHECK_VALUE(input.dim() >= 2, "crop expects a tensor of shape (..., H, W), got ", input.sizes());
  // The engine wants a channel dim; a [H, W] tensor gets a temporary one.
  const bool add_c = input.dim() == 2;
  Plan p = make_plan(add_c ? input.unsqueeze(0) : input, height, width, std::nullopt, std::nullopt, false,
                     std::nullopt, false, false, std::nullopt, false, false);
  Windows w;
  w.top = top;
  w.left = left;
  Run(p, w);
  return add_c ? p.out.squeeze(0) : p.out;
}

template <RunFn Run>
at::Tensor flip_op(const at::Tensor& input, bool horizontal) {
  TORCH_CHECK_VALUE(input.dim() >= 2, horizontal ? "horizontal_flip" : "vertical_flip",
                    " expects a tensor of shape (..., H, W), got ", input.sizes());
  const bool add_c = input.dim() == 2;
  const at::Tensor in = add_c ? input.unsqueeze(0) : input;
  Plan p = make_plan(in, in.size(-2), in.size(-1), std::nullopt, std::nullopt, false, std::nullopt, false, false,
                     std::nullopt, false, false);
  Windows w;
  w.flip_h = horizontal;
  w.flip_v = !horizontal;
  Run(p, w);
  return add_c ? p.out.squeeze(0) : p.out;
}

template <RunFn Run>
at::Tensor horizontal_flip_op(const at::Tensor& input) {
  return flip_op<Run>(input, true);
}

template <RunFn Run>
at::Tensor vertical_flip_op(const at::Tensor& input) {
  return flip_op<Run>(input, false);
}

template <RunFn Run>
at::Tensor cmn_op(const at::Tensor& input, int64_t top, int64_t left, int64_t height, int64_t width, bool flip_h,
                  bool flip_v, OptDoubles mean, OptDoubles std, bool scale,
                  std::optional<at::ScalarType> dtype, bool input_hwc, bool channels_last,
                  OptDoubles fill, bool fast) {
  Plan p = make_plan(input, height, width, opt(mean), opt(std), scale, dtype, input_hwc, channels_last, opt(fill), fast, false);
  Windows w;
  w.top = top;
  w.left = left;
  w.flip_h = flip_h;
  w.flip_v = flip_v;
  Run(p, w);
  return p.out;
}

template <RunFn Run>
at::Tensor cmn_batched_op(const at::Tensor& input, const at::Tensor& windows, const at::Tensor& flips, int64_t height,
                          int64_t width, OptDoubles mean, OptDoubles std,
                          bool scale, std::optional<at::ScalarType> dtype, bool input_hwc, bool channels_last,
                          OptDoubles fill, bool fast) {
  Plan p = make_plan(input, height, width, opt(mean), opt(std), scale, dtype, input_hwc, channels_last, opt(fill), fast, true);
  Run(p, batched_windows(windows, flips, input, p.N));
  return p.out;
}

// Eager fast path of Compose([RandomCrop, Random{Horizontal,Vertical}Flip..., ToDtype, Normalize]):
// torchvision v2's draws and the fused kernel in one dispatcher call. The draws are the same ATen calls
// Python makes (torch.randint(0, n + 1, size=()) per axis that needs cropping, height first, then
// torch.rand(1) per flip, in order), on the default CPU generator, so they consume it identically
// (tests/test_vision_transforms.py checks outputs and the generator state after, seed for seed).
// crop = (range_h, range_w, offset_top, offset_left, height, width): top = randint(0, range_h + 1) +
// offset_top when range_h > 0, else offset_top (offset = -padding); same for left.
// flip_p[i] is the flip's p rounded to float32 (torchvision compares the float32 draw with it);
// flip_horizontal[i] != 0 for a horizontal flip. A flip after a crop mirrors the read of the same window.
// The draws of random_cmn_op (host code on the CPU generator; in cpu/cmn_engine.cpp so nvcc never sees
// torch's host/device distribution helpers).
Windows draw_train_window(at::IntArrayRef crop, at::ArrayRef<double> flip_p, at::IntArrayRef flip_horizontal);

template <RunFn Run>
at::Tensor random_cmn_op(const at::Tensor& input, at::IntArrayRef crop, at::ArrayRef<double> flip_p,
                         at::IntArrayRef flip_horizontal, OptDoubles mean, OptDoubles std, bool scale,
                         std::optional<at::ScalarType> dtype, OptDoubles fill) {
  TORCH_CHECK_VALUE(crop.size() == 6, "crop must be (range_h, range_w, offset_top, offset_left, height, width), got ",
                    crop.size(), " values");
  TORCH_CHECK_VALUE(flip_p.size() == flip_horizontal.size(), "flip_p and flip_horizontal must have the same length, got ",
                    flip_p.size(), " and ", flip_horizontal.size());
  TORCH_CHECK_VALUE(crop[0] >= 0 && crop[1] >= 0, "crop ranges must be non-negative, got (", crop[0], ", ", crop[1], ")");
  // Validate everything that can fail before drawing, so a bad call leaves the generator untouched.
  Plan p = make_plan(input, crop[4], crop[5], opt(mean), opt(std), scale, dtype, false, false, opt(fill), false, false);
  Windows w = draw_train_window(crop, flip_p, flip_horizontal);
  Run(p, w);
  return p.out;
}

} // namespace detail
} // namespace vision
} // namespace fastprep
