#pragma once
// The spectrogram / mel spectrogram as a chain of ATen ops (framing, rfft,
// power, matmul): on CUDA the FFT is cuFFT. The fused CUDA kernel hands it the
// FFT sizes it handles badly (a prime factor above its generic radix) or cannot
// fit in shared memory; the private op fastprep::_spectrogram_composite exposes
// it so the route is tested on every device.

#include <ATen/ATen.h>
#include <c10/util/string_view.h>

#include <cstdint>
#include <optional>

#include "audio/fft/fft.h"

namespace fastprep {
namespace audio {
namespace detail {

// fb given: mel spectrogram (power required); otherwise the onesided power
// spectrogram, or the complex one when power is None. Same checks, shapes and
// dtypes as the fused ops; differentiable through ATen's autograd.
at::Tensor spectrogram_composite(const at::Tensor& waveform, const at::Tensor& window,
                                 const std::optional<at::Tensor>& fb, int64_t n_fft, int64_t hop_length, bool center,
                                 c10::string_view pad_mode, std::optional<double> power, int64_t normalized);

// Complex FFT size the fused kernels run for n_fft: n_fft / 2 points on the
// packed real signal when n_fft is even, else n_fft.
inline int64_t fused_fft_size(int64_t n_fft) { return n_fft % 2 == 0 ? n_fft / 2 : n_fft; }

// A prime factor above the generic radix would cost the fused CUDA kernel
// O(p) per point (~n^2 per frame for a prime n); cuFFT stays O(n log n). Same
// threshold as the CPU's switch to Bluestein, whose timings set it.
inline bool fft_size_needs_composite(int64_t n_fft) {
  const int64_t m = fused_fft_size(n_fft);
  if (m >= (int64_t(1) << 16)) return true;  // beyond the fused kernel's 16-bit index maths
  return fft::largest_prime_factor(static_cast<int>(m)) > fft::kMaxGenericRadix;
}

// On the CPU our Bluestein (fft.h) loses to ATen's FFT (MKL / pocketfft) once the
// transform is large: measured on the 2-core dev box (mel, 8 x 10 s), n_fft 401:
// 222 vs 84 ms, 1021: 989 vs 183, 4093: 1149 vs 156; below ~200 points it was a
// toss-up (34 ... 202), so those keep the fused kernel.
inline bool cpu_fft_size_prefers_composite(int64_t n_fft) {
  const int64_t m = fused_fft_size(n_fft);
  if (m <= 256) return false;
  // Beyond int our FFT cannot plan it at all.
  return m > INT32_MAX || fft::largest_prime_factor(static_cast<int>(m)) > fft::kMaxGenericRadix;
}

} // namespace detail
} // namespace audio
} // namespace fastprep
