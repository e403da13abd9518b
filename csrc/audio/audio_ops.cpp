// Schemas of the audio family. Kernels: cpu/, cuda/; fake kernels and autograd:
// fastprep/_ops/audio.py.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>

#include "audio/spectrogram_composite.h"

namespace fastprep {
namespace audio {
namespace {

// Elementwise + one reduction: ATen already fuses this well on every device, so
// it is a composite (autograd and all backends for free).
at::Tensor amplitude_to_db(const at::Tensor& x, double multiplier, double amin, double db_multiplier,
                           std::optional<double> top_db) {
  // No dtype check: like torchaudio, integer input promotes to float in clamp_min, complex raises there.
  at::Tensor x_db = multiplier * at::log10(at::clamp_min(x, amin));
  x_db = x_db - multiplier * db_multiplier;
  if (top_db.has_value()) {
    // torchaudio's packing: one cut-off per item of (..., channel, freq, time); it
    // indexes the last two dims, so a lower rank is torchaudio's IndexError.
    TORCH_CHECK_INDEX(x_db.dim() >= 2, "amplitude_to_db with top_db needs an input of at least 2 dimensions "
                      "(..., freq, time), got shape ", x_db.sizes());
    const auto shape = x_db.sizes().vec();
    const int64_t channels = x_db.dim() > 2 ? shape[shape.size() - 3] : 1;
    at::Tensor packed = x_db.reshape({-1, channels, shape[shape.size() - 2], shape.back()});
    const at::Tensor cut = packed.amax({-3, -2, -1}) - *top_db;
    x_db = at::max(packed, cut.view({-1, 1, 1, 1})).reshape(shape);
  }
  return x_db;
}

} // namespace

TORCH_LIBRARY_FRAGMENT(fastprep, m) {
  m.set_python_module("fastprep._ops.audio");
  // normalized: 0 none, 1 window (L2 energy), 2 frame_length (sqrt(n_fft)).
  // power None returns the complex spectrum.
  m.def(
      "spectrogram(Tensor waveform, Tensor window, int n_fft, int hop_length, bool center, str pad_mode, "
      "float? power, int normalized) -> Tensor");
  // Fused framing -> window -> FFT -> power -> sparse mel projection.
  m.def(
      "mel_spectrogram(Tensor waveform, Tensor window, Tensor fb, int n_fft, int hop_length, bool center, "
      "str pad_mode, float power, int normalized) -> Tensor");
  // Gradient of spectrogram / mel_spectrogram w.r.t. each padded frame: (batch, n_frames, n_fft).
  m.def(
      "_spectrogram_backward(Tensor grad, Tensor waveform, Tensor window, Tensor? fb, int n_fft, int hop_length, "
      "bool center, str pad_mode, float? power, int normalized) -> Tensor");
  // Private, for tests: the ATen-ops route (cuFFT on CUDA) the CUDA kernels take for
  // FFT sizes with a large prime factor; fb given -> mel spectrogram.
  m.def(
      "_spectrogram_composite(Tensor waveform, Tensor window, Tensor? fb, int n_fft, int hop_length, bool center, "
      "str pad_mode, float? power, int normalized) -> Tensor");
  m.def("amplitude_to_db(Tensor x, float multiplier, float amin, float db_multiplier, float? top_db) -> Tensor");
}

TORCH_LIBRARY_IMPL(fastprep, CompositeImplicitAutograd, m) {
  m.impl("amplitude_to_db", &amplitude_to_db);
  // Built from ATen ops only: autograd, fake tensors and every device come from them.
  m.impl("_spectrogram_composite", &detail::spectrogram_composite);
}

} // namespace audio
} // namespace fastprep
