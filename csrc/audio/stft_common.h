#pragma once
// Framing geometry, argument checks and filterbank sparsity shared by the CPU
// and CUDA spectrogram kernels (torch.stft's framing: centre padding of
// n_fft // 2, window zero-padded to n_fft and centred).

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <optional>
#include <string>
#include <vector>

#include "audio/fft/fft.h"

namespace fastprep {
namespace audio {
namespace detail {

enum PadMode : int { kConstant = 0, kReflect = 1, kReplicate = 2, kCircular = 3 };

// Normalization of the complex spectrum: none, by the window's L2 energy
// ("window", torchaudio's normalized=True) or by sqrt(n_fft) ("frame_length").
enum Normalized : int64_t { kNormNone = 0, kNormWindow = 1, kNormFrameLength = 2 };

struct Geometry {
  int64_t batch;     // product of the leading dims
  int64_t length;    // samples per row
  int64_t n_fft;
  int64_t hop;
  int64_t n_frames;
  int64_t pad_left;  // n_fft / 2 when centred, else 0
  int64_t n_bins;    // n_fft / 2 + 1
  int pad_mode;
};

// Maps a position of the padded signal to a sample index, or -1 for a zero.
FASTPREP_HD int64_t source_index(int64_t t, int64_t n, int mode) {
  if (t >= 0 && t < n) return t;
  switch (mode) {
    case kReflect: {
      // Valid because the checks keep the padding below n.
      if (t < 0) t = -t;
      if (t >= n) t = 2 * (n - 1) - t;
      return t;
    }
    case kReplicate:
      return t < 0 ? 0 : n - 1;
    case kCircular:
      return ((t % n) + n) % n;
    default:
      return -1;
  }
}

inline int parse_pad_mode(const std::string& mode) {
  if (mode == "constant") return kConstant;
  if (mode == "reflect") return kReflect;
  if (mode == "replicate") return kReplicate;
  if (mode == "circular") return kCircular;
  // torch.nn.functional.pad's exception type (what torchaudio passes on).
  TORCH_CHECK_NOT_IMPLEMENTED(false, "pad_mode must be one of 'constant', 'reflect', 'replicate' or 'circular', got '",
                              mode, "'");
}

// The exception torchaudio passes on for a non-float waveform comes from torch.stft, or from the centre padding
// inside it, and differs between the torch releases we build against (2.11: RuntimeError from stft, but
// NotImplementedError from reflect-padding a bool tensor; 2.14: NotImplementedError): ask this torch the same
// call on a tiny tensor, as Python's torch.stft makes it: the centre padding by F.pad on a 3-d view, then ATen's
// stft without centring (ATen's own centring checks in another order). Only this error path pays for it.
inline bool stft_rejects_as_not_implemented(at::ScalarType dtype, bool center, c10::string_view pad_mode) {
  try {
    at::Tensor x = at::zeros({1, 1, 8}, at::TensorOptions().dtype(dtype));
    if (center) x = at::pad(x, {2, 2}, pad_mode);
    at::stft(x.view({-1}), 4, 1, std::nullopt, at::ones({4}), false, std::nullopt, true);
  } catch (const c10::NotImplementedError&) {
    return true;
  } catch (const std::exception&) {
  }
  return false;
}

inline void check_floating_waveform(const at::Tensor& waveform, const char* op, bool center,
                                    c10::string_view pad_mode) {
  if (at::isFloatingType(waveform.scalar_type())) {
    return;
  }
  TORCH_CHECK_NOT_IMPLEMENTED(!stft_rejects_as_not_implemented(waveform.scalar_type(), center, pad_mode), op,
                              ": waveform must be a floating point tensor, got ", waveform.scalar_type());
  TORCH_CHECK(false, op, ": waveform must be a floating point tensor, got ", waveform.scalar_type());
}

// What every spectrogram kernel accepts: float32 / float64 (the Python wrappers
// compute half types in float32) and a positive power.
inline void check_kernel_inputs(const at::Tensor& waveform, std::optional<double> power, bool center,
                                c10::string_view pad_mode, const char* op) {
  check_floating_waveform(waveform, op, center, pad_mode);
  TORCH_CHECK_VALUE(waveform.scalar_type() == at::kFloat || waveform.scalar_type() == at::kDouble, op,
                    ": the op computes in float32 or float64, got ", waveform.scalar_type());
  TORCH_CHECK_VALUE(!power.has_value() || *power > 0, op, ": power must be > 0, got ", *power);
}

// Validates the arguments the way torch.stft / torch.nn.functional.pad do (same
// exception types) and returns the framing.
inline Geometry make_geometry(const at::Tensor& waveform, const at::Tensor& window, int64_t n_fft, int64_t hop,
                              bool center, const std::string& pad_mode) {
  check_floating_waveform(waveform, "spectrogram", center, pad_mode);
  TORCH_CHECK(waveform.dim() >= 1, "spectrogram: waveform must have a time dimension, got a 0-d tensor");
  TORCH_CHECK(n_fft > 0, "stft: expected 0 < n_fft, but got n_fft=", n_fft);
  TORCH_CHECK(hop > 0, "stft: expected hop_length > 0, but got hop_length=", hop);
  TORCH_CHECK(window.dim() == 1, "stft: expected a 1D window tensor, got shape ", window.sizes());
  TORCH_CHECK(window.size(0) > 0 && window.size(0) <= n_fft,
              "stft: expected 0 < win_length <= n_fft, but got win_length=", window.size(0), " and n_fft=", n_fft);
  TORCH_CHECK(window.device() == waveform.device(), "spectrogram: window is on ", window.device(),
              " but waveform is on ", waveform.device());
  Geometry g{};
  g.length = waveform.size(-1);
  g.batch = g.length == 0 ? 0 : waveform.numel() / g.length;
  if (g.length == 0) {
    g.batch = 1;
    for (int64_t d = 0; d + 1 < waveform.dim(); ++d) g.batch *= waveform.size(d);
  }
  g.n_fft = n_fft;
  g.hop = hop;
  g.n_bins = n_fft / 2 + 1;
  g.pad_mode = center ? parse_pad_mode(pad_mode) : kConstant;
  g.pad_left = center ? n_fft / 2 : 0;
  if (center && g.pad_left > 0) {
    if (g.pad_mode == kReflect) {
      TORCH_CHECK(g.pad_left < g.length, "Argument #4: Padding size should be less than the corresponding input ",
                  "dimension, but got: padding (", g.pad_left, ", ", g.pad_left, ") at dimension ",
                  waveform.dim() - 1, " of input ", waveform.sizes());
    } else if (g.pad_mode == kCircular) {
      TORCH_CHECK(g.pad_left <= g.length, "Padding value causes wrapping around more than once.");
    } else if (g.pad_mode == kReplicate) {
      TORCH_CHECK(g.length > 0, "replication padding needs a non-empty input, got shape ", waveform.sizes());
    }
  }
  const int64_t padded = g.length + 2 * g.pad_left;
  TORCH_CHECK(n_fft <= padded, "stft: expected 0 < n_fft <= ", padded, ", but got n_fft=", n_fft);
  g.n_frames = 1 + (padded - n_fft) / hop;
  return g;
}

// Output shape: waveform's leading dims + (rows, n_frames).
inline std::vector<int64_t> output_shape(const at::Tensor& waveform, int64_t rows, int64_t n_frames) {
  std::vector<int64_t> shape(waveform.sizes().begin(), waveform.sizes().end() - 1);
  shape.push_back(rows);
  shape.push_back(n_frames);
  return shape;
}

// Window zero-padded to n_fft (centred, as torch.stft does) with the
// normalization scale folded in: the spectrum is linear in the window.
inline at::Tensor padded_scaled_window(const at::Tensor& window, int64_t n_fft, int64_t normalized,
                                       at::ScalarType dtype) {
  at::Tensor w = window.to(dtype);
  if (normalized == kNormWindow) {
    w = w / w.pow(2).sum().sqrt();
  } else if (normalized == kNormFrameLength) {
    w = w / std::sqrt(static_cast<double>(n_fft));
  }
  if (window.size(0) == n_fft) {
    return w.contiguous();  // read only: the caller's window itself when nothing changes (no op per call)
  }
  const int64_t left = (n_fft - window.size(0)) / 2;
  return at::constant_pad_nd(w, {left, n_fft - window.size(0) - left}, 0).contiguous();
}

// Per mel band, the range of frequency bins where the filterbank is nonzero,
// and its weights packed band after band (CSR): the projection then touches
// about 2 * n_bins weights instead of n_bins * n_mels.
template <typename T>
struct SparseBands {
  std::vector<int32_t> start, count, offset;
  std::vector<T> weights;
};

template <typename T>
SparseBands<T> sparse_bands(const at::Tensor& fb_cpu /* (n_bins, n_mels), dtype T */) {
  const int64_t nb = fb_cpu.size(0), nm = fb_cpu.size(1);
  const at::Tensor fbc = fb_cpu.contiguous();
  const T* w = fbc.const_data_ptr<T>();
  SparseBands<T> s;
  s.start.resize(nm);
  s.count.resize(nm);
  s.offset.resize(nm);
  // Each band's first and last nonzero bin in one row-major pass (branch-free, so it vectorizes): it runs
  // whenever a thread meets a new filterbank, and a column-wise scan was a fifth of a 1 s Whisper mel's time.
  // The test is on the bits (nonzero magnitude: -0 is zero, NaN is not, as `!= 0` says): a float compare
  // kept GCC from vectorizing the loop (NaN's unordered branch).
  using Bits = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  const Bits magnitude = std::numeric_limits<Bits>::max();
  std::vector<Bits> first(nm, static_cast<Bits>(nb)), last(nm, -1);
  Bits* __restrict fp = first.data();
  Bits* __restrict lp = last.data();
  const Bits none = static_cast<Bits>(nb);
  for (int64_t k = 0; k < nb; ++k) {
    const T* row = w + k * nm;
    const Bits kk = static_cast<Bits>(k);
    for (int64_t m = 0; m < nm; ++m) {
      Bits b;
      std::memcpy(&b, row + m, sizeof(b));
      const Bits nz = -static_cast<Bits>((b & magnitude) != 0);  // all ones for a nonzero weight
      fp[m] = std::min(fp[m], (kk & nz) | (none & ~nz));
      lp[m] = (kk & nz) | (lp[m] & ~nz);
    }
  }
  for (int64_t m = 0; m < nm; ++m) {
    int64_t lo = first[m], hi = last[m];
    if (hi < lo) lo = hi = 0, hi = -1;
    s.start[m] = static_cast<int32_t>(lo);
    s.count[m] = static_cast<int32_t>(hi - lo + 1);
    s.offset[m] = static_cast<int32_t>(s.weights.size());
    for (int64_t k = lo; k <= hi; ++k) s.weights.push_back(w[k * nm + m]);
  }
  return s;
}

inline void check_fb(const at::Tensor& fb, const Geometry& g, const at::Tensor& waveform) {
  TORCH_CHECK(fb.dim() == 2 && fb.size(0) == g.n_bins, "mel_spectrogram: fb must have shape (n_fft // 2 + 1, n_mels) = (",
              g.n_bins, ", n_mels), got ", fb.sizes());
  TORCH_CHECK(fb.device() == waveform.device(), "mel_spectrogram: fb is on ", fb.device(), " but waveform is on ",
              waveform.device());
}

} // namespace detail
} // namespace audio
} // namespace fastprep
