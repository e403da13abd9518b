#include "audio/spectrogram_backward.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <string>

#include "audio/stft_common.h"

namespace fastprep {
namespace audio {
namespace detail {

// Recomputes the complex spectrum X (through our forward op), turns the
// output gradient into G = dL/dRe X + i dL/dIm X, and maps it back to the
// frames: dL/dx_n = scale * w_n * Re(sum_k G_k e^{+2 pi i k n / N}), i.e. an
// unnormalized irfft of G with its interior bins halved.
at::Tensor spectrogram_backward(const at::Tensor& grad, const at::Tensor& waveform, const at::Tensor& window,
                                const std::optional<at::Tensor>& fb, int64_t n_fft, int64_t hop_length, bool center,
                                c10::string_view pad_mode, std::optional<double> power, int64_t normalized) {
  static auto spec_op = c10::Dispatcher::singleton()
                            .findSchemaOrThrow("fastprep::spectrogram", "")
                            .typed<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, int64_t, bool,
                                              c10::string_view, std::optional<double>, int64_t)>();
  const Geometry g = make_geometry(waveform, window, n_fft, hop_length, center, std::string(pad_mode));
  const at::Tensor x = spec_op.call(waveform, window, n_fft, hop_length, center, pad_mode, std::nullopt, normalized)
                           .reshape({g.batch, g.n_bins, g.n_frames});
  at::Tensor gx;
  if (power.has_value()) {
    at::Tensor gs;
    if (fb.has_value()) {
      const at::Tensor gm = grad.reshape({g.batch, fb->size(1), g.n_frames});
      gs = at::matmul(fb->to(waveform.scalar_type()), gm);  // (n_bins, n_mels) @ (B, n_mels, F)
    } else {
      gs = grad.reshape({g.batch, g.n_bins, g.n_frames});
    }
    const double p = *power;
    if (p == 2.0) {
      gx = x * (2.0 * gs);
    } else if (p == 1.0) {
      gx = at::sgn(x) * gs;
    } else {
      const at::Tensor mag = at::abs(x);
      const at::Tensor coef = at::where(mag > 0, p * at::pow(mag, p - 2.0), at::zeros_like(mag));
      gx = x * (coef * gs);
    }
  } else {
    gx = grad.reshape({g.batch, g.n_bins, g.n_frames});
  }
  // irfft counts interior bins twice (Hermitian extension): halve them.
  const int64_t last_interior = n_fft % 2 == 0 ? g.n_bins - 1 : g.n_bins;
  at::Tensor h = gx.clone();
  if (last_interior > 1) h.slice(1, 1, last_interior).mul_(0.5);
  at::Tensor frames = at::fft_irfft(h.transpose(1, 2), n_fft, -1, "forward");  // (B, F, n_fft)
  const at::Tensor w = padded_scaled_window(window, n_fft, normalized, waveform.scalar_type());
  return (frames * w).contiguous();
}

} // namespace detail
} // namespace audio
} // namespace fastprep
