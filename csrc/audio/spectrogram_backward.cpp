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
  // irfft counts interior bins twice (Hermitian extension): they are halved, through a real per-bin factor
  // folded into the (real) coefficient, so the complex spectrum is multiplied once.
  const int64_t last_interior = n_fft % 2 == 0 ? g.n_bins - 1 : g.n_bins;
  at::Tensor halve = at::ones({g.n_bins, 1}, waveform.options().dtype(c10::toRealValueType(x.scalar_type())));
  if (last_interior > 1) halve.slice(0, 1, last_interior).fill_(0.5);
  // G = X * coef (coef real) for a power spectrum, or the output gradient itself for a complex one.
  at::Tensor src, coef;
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
      coef = gs * (2.0 * halve);
    } else {
      // d|X|^p = p |X|^(p - 2) Re(conj(X) dX); zero where X is (sgn's convention for p = 1).
      const at::Tensor mag = at::abs(x);
      const at::Tensor m = p == 1.0 ? at::reciprocal(mag) : p * at::pow(mag, p - 2.0);
      coef = at::where(mag > 0, m, at::zeros_like(m)) * gs * halve;
    }
    src = x;
  } else {
    src = grad.reshape({g.batch, g.n_bins, g.n_frames});
    coef = halve.expand({g.batch, g.n_bins, g.n_frames});
  }
  // Written straight in the (B, F, n_bins) layout the irfft reads along its last dimension: one pass for the
  // product and the transpose.
  at::Tensor h = at::empty({g.batch, g.n_frames, g.n_bins}, src.options());
  at::mul_out(h, src.transpose(1, 2), coef.transpose(1, 2));
  at::Tensor frames = at::fft_irfft(h, n_fft, -1, "forward");  // (B, F, n_fft), contiguous
  const at::Tensor w = padded_scaled_window(window, n_fft, normalized, waveform.scalar_type());
  return frames.mul_(w);
}

} // namespace detail
} // namespace audio
} // namespace fastprep
