#pragma once
// The op entry points, written once over the backend engine (run_cpu or
// run_cuda): every vision op is the same crop + flip + convert + normalize
// loop with different arguments.

#include "vision/cmn_plan.h"

#include <ATen/native/Resize.h>

namespace fastprep {
namespace vision {
namespace detail {

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
  Run(p, batched_windows(windows, flips, input, p.in4.size(0)));
  return p.out;
}

} // namespace detail
} // namespace vision
} // namespace fastprep
