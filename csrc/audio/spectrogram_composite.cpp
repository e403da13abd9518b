#include "audio/spectrogram_composite.h"

#include <ATen/ATen.h>

#include <string>

#include "audio/stft_common.h"

namespace fastprep {
namespace audio {
namespace detail {

at::Tensor spectrogram_composite(const at::Tensor& waveform, const at::Tensor& window,
                                 const std::optional<at::Tensor>& fb, int64_t n_fft, int64_t hop_length, bool center,
                                 c10::string_view pad_mode, std::optional<double> power, int64_t normalized) {
  const char* op = fb.has_value() ? "mel_spectrogram" : "spectrogram";
  check_kernel_inputs(waveform, power, center, pad_mode, op);
  TORCH_CHECK_VALUE(!fb.has_value() || power.has_value(), "mel_spectrogram: power must be given with a filterbank");
  const std::string mode(pad_mode);
  const Geometry g = make_geometry(waveform, window, n_fft, hop_length, center, mode);
  if (fb.has_value()) check_fb(*fb, g, waveform);
  const auto dtype = waveform.scalar_type();
  const int64_t rows = fb.has_value() ? fb->size(1) : g.n_bins;
  const auto shape = output_shape(waveform, rows, g.n_frames);
  const auto options = power.has_value() ? waveform.options() : waveform.options().dtype(c10::toComplexType(dtype));
  // An empty batch is an empty result (the fused kernels' behaviour; reflect padding would raise).
  if (g.batch == 0 || rows == 0) return at::empty(shape, options);
  at::Tensor x = waveform.reshape({g.batch, g.length});
  // make_geometry maps center=false to constant mode with no padding.
  if (g.pad_left > 0) x = at::pad(x, {g.pad_left, g.pad_left}, mode);
  // (batch, frames, n_fft) windowed frames; the normalization is folded into the window.
  const at::Tensor frames = x.unfold(-1, n_fft, hop_length) * padded_scaled_window(window, n_fft, normalized, dtype);
  const at::Tensor spec = at::fft_rfft(frames);  // (batch, frames, n_bins)
  at::Tensor out;
  if (!power.has_value()) {
    out = spec;
  } else if (*power == 2.0) {
    // re^2 + im^2, as the fused kernels compute it; two strided squares, not a reduction over a size-2 dim
    // (3x slower on the CPU: 24 against 7 ms for 8 x 10 s at n_fft 4093).
    const at::Tensor ri = at::view_as_real(spec);
    out = ri.select(-1, 0).square() + ri.select(-1, 1).square();
  } else if (*power == 1.0) {
    out = at::abs(spec);
  } else {
    out = at::abs(spec).pow(*power);
  }
  // (batch, frames, n_bins) @ (n_bins, n_mels): the dense projection (torchaudio's MelScale).
  if (fb.has_value()) out = at::matmul(out, fb->to(dtype));
  return out.transpose(1, 2).reshape(shape).contiguous();
}

} // namespace detail
} // namespace audio
} // namespace fastprep
