// CPU spectrogram and fused mel spectrogram. Work is split over (row, group of
// L frames); each group is framed, windowed and transformed together with the
// FFT's inner loop running across the L frames (SIMD lanes), then consumed
// (power, complex or mel projection) while still in cache.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "audio/fft/fft.h"
#include "audio/spectrogram_backward.h"
#include "audio/spectrogram_composite.h"
#include "audio/stft_common.h"
#include "common/cpu_isa.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FASTPREP_AUDIO_AVX2 1
#include <immintrin.h>
#endif

namespace fastprep {
namespace audio {
namespace {

using detail::Geometry;

template <typename T>
struct Context {
  const Geometry* g;
  const T* window;  // padded to n_fft, scale folded in
  const fft::HostPlan<T>* plan;
  bool real_trick;  // even n_fft: one complex FFT of n_fft / 2 points
};

// Per-thread buffers for one group of L frames.
template <typename T, int L>
struct Workspace {
  std::vector<T> re, im, wre, wim, scratch, frame, xr, xi;
  std::vector<T> aux;  // the backward's per-bin gradient, sized on first use
  explicit Workspace(const Context<T>& c) {
    const int64_t n = c.plan->work_n;  // > n_fft points when the plan goes through Bluestein
    re.resize(n * L);
    im.resize(n * L);
    wre.resize(n * L);
    wim.resize(n * L);
    scratch.resize(4 * c.plan->max_radix);
    frame.resize(c.g->n_fft);
    xr.resize((c.g->n_bins + 1) * L);
    xi.resize((c.g->n_bins + 1) * L);
  }
};

// Windowed frame `f` of row `x` into ws.frame (fast path when no padding is touched).
template <typename T>
inline void load_frame(const Geometry& g, const T* x, const T* win, int64_t f, T* out) {
  const int64_t start = f * g.hop - g.pad_left;
  if (start >= 0 && start + g.n_fft <= g.length) {
    const T* src = x + start;
    for (int64_t i = 0; i < g.n_fft; ++i) out[i] = src[i] * win[i];
  } else {
    for (int64_t i = 0; i < g.n_fft; ++i) {
      const int64_t t = detail::source_index(start + i, g.length, g.pad_mode);
      out[i] = t < 0 ? T(0) : x[t] * win[i];
    }
  }
}

#ifdef FASTPREP_AUDIO_AVX2
// In-register 8x8 transpose: r[t][l] <- r[l][t].
__attribute__((target("avx2"))) inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// The real-trick load of 8 whole frames (no padding touched, n_fft % 8 == 0)
// as 8x8 blocks: the same products x * w as load_frame, transposed in
// registers instead of 8 * n_fft scalar strided stores (a third of the time).
__attribute__((target("avx2"))) inline void load_group8_avx2(const float* x0, int64_t hop, const float* win,
                                                              int64_t n_fft, float* re, float* im) {
  for (int64_t p = 0; p < n_fft; p += 8) {
    const __m256 w = _mm256_loadu_ps(win + p);
    __m256 v[8];
    for (int l = 0; l < 8; ++l) v[l] = _mm256_mul_ps(_mm256_loadu_ps(x0 + l * hop + p), w);
    transpose8(v);
    const int64_t j = p / 2;
    for (int t = 0; t < 4; ++t) {
      _mm256_storeu_ps(re + (j + t) * 8, v[2 * t]);
      _mm256_storeu_ps(im + (j + t) * 8, v[2 * t + 1]);
    }
  }
}
#endif

// Scaled onesided spectrum of frames [f0, f0 + nvalid) into ws.xr/xi, layout [bin][lane].
template <typename T, int L, bool kAvx2>
void frames_spectrum(const Context<T>& c, const T* x, int64_t f0, int nvalid, Workspace<T, L>& ws) {
  using P = fft::Lanes<T, L>;
  const Geometry& g = *c.g;
  const int n = c.plan->desc.n;
  T* re = ws.re.data();
  T* im = ws.im.data();
  bool loaded = false;
#ifdef FASTPREP_AUDIO_AVX2
  if constexpr (kAvx2 && std::is_same_v<T, float> && L == 8) {
    const int64_t start = f0 * g.hop - g.pad_left;
    if (c.real_trick && g.n_fft % 8 == 0 && nvalid == L && start >= 0 &&
        start + (L - 1) * g.hop + g.n_fft <= g.length) {
      load_group8_avx2(x + start, g.hop, c.window, g.n_fft, re, im);
      loaded = true;
    }
  }
#endif
  for (int l = 0; l < L && !loaded; ++l) {
    if (l < nvalid) {
      load_frame(g, x, c.window, f0 + l, ws.frame.data());
    } else {
      std::fill(ws.frame.begin(), ws.frame.end(), T(0));
    }
    const T* fr = ws.frame.data();
    if (c.real_trick) {
      for (int j = 0; j < n; ++j) {
        re[j * L + l] = fr[2 * j];
        im[j * L + l] = fr[2 * j + 1];
      }
    } else {
      for (int j = 0; j < n; ++j) {
        re[j * L + l] = fr[j];
        im[j * L + l] = T(0);
      }
    }
  }
  // The result stays where the last pass left it (no copy back for an odd pass count).
  std::tie(re, im) = fft::cpu_fft_any<L>(*c.plan, re, im, ws.wre.data(), ws.wim.data(), ws.scratch.data());
  T* xr = ws.xr.data();
  T* xi = ws.xi.data();
  if (c.real_trick) {
    // X_k = (Z_k + conj Z_{M-k}) / 2 - i e^{-2 pi i k / N} (Z_k - conj Z_{M-k}) / 2
    const T* rt = c.plan->real_tw.data();
    const P half(T(0.5)), mhalf(T(-0.5));
    for (int k = 0; k <= n; ++k) {
      const int a = k == n ? 0 : k;
      const int b = k == 0 ? 0 : n - k;
      const P wr(rt[2 * k]), wi(rt[2 * k + 1]);
      const P zr = P::load(re + a * L), zi = P::load(im + a * L);
      const P cr = P::load(re + b * L), ci = -P::load(im + b * L);
      const P er = half * (zr + cr), ei = half * (zi + ci);
      // o = -i/2 (z - c)
      const P orr = half * (zi - ci), oi = mhalf * (zr - cr);
      (er + wr * orr - wi * oi).store(xr + k * L);
      (ei + wr * oi + wi * orr).store(xi + k * L);
    }
  } else {
    for (int64_t k = 0; k < g.n_bins; ++k) {
      for (int l = 0; l < L; ++l) {
        xr[k * L + l] = re[k * L + l];
        xi[k * L + l] = im[k * L + l];
      }
    }
  }
}

template <typename T>
inline T power_of(T re, T im, double power) {
  const T m2 = re * re + im * im;
  if (power == 2.0) return m2;
  if (power == 1.0) return std::sqrt(m2);
  return static_cast<T>(std::pow(m2, static_cast<T>(power * 0.5)));
}

// Takes chunks of `chunk` groups from the shared counter until none are left:
// a thread slowed by another process (a shared 2-core box) takes fewer chunks
// instead of holding back the others, as a static split would.
template <typename T, int L, bool kAvx2, typename F>
inline void run_chunks(const Context<T>& c, const T* wave, F& consume, int64_t groups, int64_t total,
                       int64_t chunk, std::atomic<int64_t>& next) {
  const Geometry& g = *c.g;
  Workspace<T, L> ws(c);
  for (;;) {
    const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
    if (begin >= total) break;
    const int64_t end = std::min(total, begin + chunk);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t row = u / groups;
      const int64_t f0 = (u % groups) * L;
      const int nvalid = static_cast<int>(std::min<int64_t>(L, g.n_frames - f0));
      frames_spectrum<T, L, kAvx2>(c, wave + row * g.length, f0, nvalid, ws);
      consume(row, f0, nvalid, ws);
    }
  }
}

#ifdef FASTPREP_AUDIO_AVX2
// The same code compiled for AVX2 (flatten inlines every callee into this
// clone, so nothing AVX2-compiled leaks into shared inline functions); chosen at
// run time, so the extension still runs on CPUs without AVX2. No FMA: where the
// compiler would contract a*b+c depends on inlining, so two builds of this file
// (setup.py and CMake) could round differently; without it they match bit for bit.
template <typename T, int L, typename F>
__attribute__((target("avx2"), flatten)) void run_chunks_avx2(const Context<T>& c, const T* wave, F& consume,
                                                                  int64_t groups, int64_t total, int64_t chunk,
                                                                  std::atomic<int64_t>& next) {
  run_chunks<T, L, true, F>(c, wave, consume, groups, total, chunk, next);
}

// FASTPREP_CPU_ISA=sse2 keeps the AVX2 clone off (read once per process): the tests compare its output with
// the baseline code's, bit for bit.
inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && fastprep::detail::cpu_isa_cap() >= 1;
  return has;
}
#endif

// Runs `consume(row, f0, nvalid, ws)` over every group of L frames, in parallel.
// Each group is computed alone, so the result does not depend on the thread count.
template <typename T, int L, typename F>
void for_each_group(const Context<T>& c, const T* wave, F consume) {
  const Geometry& g = *c.g;
  const int64_t groups = (g.n_frames + L - 1) / L;
  const int64_t total = g.batch * groups;
  if (total == 0) return;
  // About 64 frames of work per chunk: small enough to balance, large enough that the counter is not contended.
  const int64_t chunk = std::max<int64_t>(1, 64 / L);
  const int64_t n_chunks = (total + chunk - 1) / chunk;
  const int64_t workers = std::min<int64_t>(at::get_num_threads(), n_chunks);
  std::atomic<int64_t> next{0};
  // One task per thread; each (or a single caller, inside another parallel region) drains the counter.
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
#ifdef FASTPREP_AUDIO_AVX2
    if (cpu_has_avx2()) {
      run_chunks_avx2<T, L, F>(c, wave, consume, groups, total, chunk, next);
      return;
    }
#endif
    run_chunks<T, L, false, F>(c, wave, consume, groups, total, chunk, next);
  });
}

// The filterbank's band structure, kept while a thread keeps passing the same filterbank (a module's buffer,
// on every call): compared by value, so an edited or different filterbank is never served stale bands. A
// memcmp is a few times cheaper than the scan, which was a third of a short clip's time.
template <typename T>
const detail::SparseBands<T>& cached_sparse_bands(const at::Tensor& fb /* (n_bins, n_mels), dtype T, CPU */) {
  struct Cache {
    std::vector<int64_t> sizes;
    std::vector<T> values;
    detail::SparseBands<T> bands;
  };
  thread_local Cache cache;
  const at::Tensor fbc = fb.contiguous();
  const T* p = fbc.template const_data_ptr<T>();
  const size_t n = static_cast<size_t>(fbc.numel());
  const bool same = cache.sizes == fbc.sizes().vec() && cache.values.size() == n &&
      (n == 0 || std::memcmp(cache.values.data(), p, n * sizeof(T)) == 0);
  if (!same) {
    cache.sizes.clear();  // invalid until all three are set
    cache.bands = detail::sparse_bands<T>(fbc);
    cache.values.assign(p, p + n);
    cache.sizes = fbc.sizes().vec();
  }
  return cache.bands;
}

template <typename T>
struct Prepared {
  Geometry g;
  at::Tensor wave, window;
  std::shared_ptr<const fft::HostPlan<T>> plan;
  Context<T> ctx;
};

template <typename T>
void prepare(Prepared<T>& p, const at::Tensor& waveform, const at::Tensor& window, int64_t n_fft, int64_t hop,
             bool center, const std::string& pad_mode, int64_t normalized) {
  p.g = detail::make_geometry(waveform, window, n_fft, hop, center, pad_mode);
  // Rows are read as contiguous spans; a non-contiguous input is copied once here.
  p.wave = waveform.contiguous();
  p.window = detail::padded_scaled_window(window, n_fft, normalized, waveform.scalar_type());
  const bool real_trick = n_fft % 2 == 0;
  p.plan = fft::host_plan<T>(static_cast<int>(real_trick ? n_fft / 2 : n_fft));
  p.ctx = Context<T>{&p.g, p.window.template const_data_ptr<T>(), p.plan.get(), real_trick};
}

at::Tensor spectrogram_cpu(const at::Tensor& waveform, const at::Tensor& window, int64_t n_fft, int64_t hop_length,
                           bool center, c10::string_view pad_mode, std::optional<double> power, int64_t normalized) {
  detail::check_kernel_inputs(waveform, power, center, pad_mode, "spectrogram");
  if (detail::cpu_fft_size_prefers_composite(n_fft)) {
    return detail::spectrogram_composite(waveform, window, std::nullopt, n_fft, hop_length, center, pad_mode, power,
                                         normalized);
  }
  const std::string mode(pad_mode);
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(waveform.scalar_type(), "spectrogram_cpu", [&] {
    constexpr int L = std::is_same_v<scalar_t, float> ? 8 : 4;
    Prepared<scalar_t> p;
    prepare(p, waveform, window, n_fft, hop_length, center, mode, normalized);
    const Geometry& g = p.g;
    const auto shape = detail::output_shape(waveform, g.n_bins, g.n_frames);
    const scalar_t* wave = p.wave.template const_data_ptr<scalar_t>();
    if (power.has_value()) {
      out = at::empty(shape, waveform.options());
      if (out.numel() == 0) return;
      scalar_t* o = out.template mutable_data_ptr<scalar_t>();
      const double pw = *power;
      for_each_group<scalar_t, L>(p.ctx, wave, [&](int64_t row, int64_t f0, int nvalid, Workspace<scalar_t, L>& ws) {
        for (int64_t k = 0; k < g.n_bins; ++k) {
          scalar_t* dst = o + (row * g.n_bins + k) * g.n_frames + f0;
          for (int l = 0; l < nvalid; ++l) dst[l] = power_of(ws.xr[k * L + l], ws.xi[k * L + l], pw);
        }
      });
    } else {
      out = at::empty(shape, waveform.options().dtype(c10::toComplexType(waveform.scalar_type())));
      if (out.numel() == 0) return;
      scalar_t* o = reinterpret_cast<scalar_t*>(out.mutable_data_ptr());
      for_each_group<scalar_t, L>(p.ctx, wave, [&](int64_t row, int64_t f0, int nvalid, Workspace<scalar_t, L>& ws) {
        const scalar_t* xr = ws.xr.data();
        const scalar_t* xi = ws.xi.data();
        for (int64_t k = 0; k < g.n_bins; ++k) {
          scalar_t* dst = o + 2 * ((row * g.n_bins + k) * g.n_frames + f0);
          if (nvalid == L) {  // interleaved in registers, two whole-vector stores
            scalar_t t[2 * L];
            for (int l = 0; l < L; ++l) {
              t[2 * l] = xr[k * L + l];
              t[2 * l + 1] = xi[k * L + l];
            }
            std::memcpy(dst, t, sizeof(t));
            continue;
          }
          for (int l = 0; l < nvalid; ++l) {
            dst[2 * l] = xr[k * L + l];
            dst[2 * l + 1] = xi[k * L + l];
          }
        }
      });
    }
  });
  return out;
}

at::Tensor mel_spectrogram_cpu(const at::Tensor& waveform, const at::Tensor& window, const at::Tensor& fb,
                               int64_t n_fft, int64_t hop_length, bool center, c10::string_view pad_mode, double power,
                               int64_t normalized) {
  detail::check_kernel_inputs(waveform, power, center, pad_mode, "mel_spectrogram");
  if (detail::cpu_fft_size_prefers_composite(n_fft)) {
    return detail::spectrogram_composite(waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized);
  }
  const std::string mode(pad_mode);
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(waveform.scalar_type(), "mel_spectrogram_cpu", [&] {
    constexpr int L = std::is_same_v<scalar_t, float> ? 8 : 4;
    Prepared<scalar_t> p;
    prepare(p, waveform, window, n_fft, hop_length, center, mode, normalized);
    const Geometry& g = p.g;
    detail::check_fb(fb, g, waveform);
    const int64_t n_mels = fb.size(1);
    const auto& bands = cached_sparse_bands<scalar_t>(fb.to(waveform.scalar_type()));
    out = at::empty(detail::output_shape(waveform, n_mels, g.n_frames), waveform.options());
    if (out.numel() == 0) return;
    scalar_t* o = out.template mutable_data_ptr<scalar_t>();
    const scalar_t* wave = p.wave.template const_data_ptr<scalar_t>();
    for_each_group<scalar_t, L>(p.ctx, wave, [&](int64_t row, int64_t f0, int nvalid, Workspace<scalar_t, L>& ws) {
      // Power in place, then each band reads only its own nonzero bins.
      using P = fft::Lanes<scalar_t, L>;
      scalar_t* __restrict s = ws.xr.data();
      const scalar_t* __restrict xi = ws.xi.data();
      if (power == 2.0) {
        for (int64_t i = 0; i < g.n_bins * L; i += L) {
          const P a = P::load(s + i), b = P::load(xi + i);
          (a * a + b * b).store(s + i);
        }
      } else {
        for (int64_t i = 0; i < g.n_bins * L; ++i) s[i] = power_of(s[i], xi[i], power);
      }
      for (int64_t m = 0; m < n_mels; ++m) {
        P acc(scalar_t(0));
        const scalar_t* w = bands.weights.data() + bands.offset[m];
        const scalar_t* sk = s + static_cast<int64_t>(bands.start[m]) * L;
        for (int32_t k = 0; k < bands.count[m]; ++k) acc = acc + P(w[k]) * P::load(sk + k * L);
        scalar_t* dst = o + (row * n_mels + m) * g.n_frames + f0;
        if (nvalid == L) {
          acc.store(dst);
        } else {
          scalar_t lanes[L];
          acc.store(lanes);
          for (int l = 0; l < nvalid; ++l) dst[l] = lanes[l];
        }
      }
    });
  });
  return out;
}

// The gradient with respect to every padded frame, (B, F, n_fft), of spectrogram (fb absent) or
// mel_spectrogram: the maths of detail::spectrogram_backward (the route CUDA and the composite sizes take),
// fused per group of L frames as the forward is. The spectrum is recomputed in cache, the output gradient is
// turned into G = dL/dRe X + i dL/dIm X with the irfft's halving of the interior bins, and the unnormalized
// inverse real FFT (the forward FFT on conjugates) times the window is written out. No spectrum-sized tensor
// is made: the ATen form allocated and transposed four of them.
at::Tensor spectrogram_backward_cpu(const at::Tensor& grad, const at::Tensor& waveform, const at::Tensor& window,
                                    const std::optional<at::Tensor>& fb, int64_t n_fft, int64_t hop_length,
                                    bool center, c10::string_view pad_mode, std::optional<double> power,
                                    int64_t normalized) {
  if (detail::cpu_fft_size_prefers_composite(n_fft)) {
    return detail::spectrogram_backward(grad, waveform, window, fb, n_fft, hop_length, center, pad_mode, power,
                                        normalized);
  }
  const std::string mode(pad_mode);
  at::Tensor out;
  AT_DISPATCH_FLOATING_TYPES(waveform.scalar_type(), "spectrogram_backward_cpu", [&] {
    using T = scalar_t;
    constexpr int L = std::is_same_v<T, float> ? 8 : 4;
    Prepared<T> p;
    prepare(p, waveform, window, n_fft, hop_length, center, mode, normalized);
    const Geometry& g = p.g;
    const int64_t nb = g.n_bins;
    const int64_t rows = fb.has_value() ? fb->size(1) : nb;  // per example: mel bands or bins
    TORCH_CHECK(!fb.has_value() || power.has_value(), "_spectrogram_backward: fb needs a power");
    TORCH_CHECK(grad.numel() == g.batch * rows * g.n_frames && grad.is_complex() == !power.has_value() &&
                    c10::toRealValueType(grad.scalar_type()) == waveform.scalar_type(),
                "_spectrogram_backward: grad must be the op's output gradient, got ", grad.sizes(), " ",
                grad.scalar_type());
    const at::Tensor gc = grad.contiguous();
    const T* gp = reinterpret_cast<const T*>(gc.const_data_ptr());  // complex: (re, im) pairs
    out = at::empty({g.batch, g.n_frames, n_fft}, waveform.options());
    if (out.numel() == 0) return;
    T* o = out.mutable_data_ptr<T>();
    const detail::SparseBands<T>* bands = nullptr;  // this thread's cache entry; only read below
    if (fb.has_value()) {
      detail::check_fb(*fb, g, waveform);
      bands = &cached_sparse_bands<T>(fb->to(waveform.scalar_type()));
    }
    const int64_t last_interior = n_fft % 2 == 0 ? nb - 1 : nb;  // bins 1 .. last_interior - 1 are halved
    const T* win = p.ctx.window;
    const auto& plan = *p.ctx.plan;
    const int n = plan.desc.n;
    const T* wave = p.wave.template const_data_ptr<T>();
    // (A complex output's gradient does not need X; the group loop computes it anyway: the rare case.)
    for_each_group<T, L>(p.ctx, wave, [&](int64_t row, int64_t f0, int nvalid, Workspace<T, L>& ws) {
      T* xr = ws.xr.data();  // X, then G in place
      T* xi = ws.xi.data();
      using P = fft::Lanes<T, L>;
      // L values from src, the lanes past nvalid zero.
      auto load_valid = [&](const T* src) {
        if (nvalid == L) return P::load(src);
        T t[L] = {};
        for (int l = 0; l < nvalid; ++l) t[l] = src[l];
        return P::load(t);
      };
      if (power.has_value()) {
        if (ws.aux.size() < static_cast<size_t>(nb * L)) ws.aux.resize(nb * L);
        T* gs = ws.aux.data();  // dL/d(power spectrum), [bin][lane]
        if (bands) {
          std::fill(gs, gs + nb * L, T(0));
          for (int64_t m = 0; m < rows; ++m) {
            const P gl = load_valid(gp + (row * rows + m) * g.n_frames + f0);
            const T* w = bands->weights.data() + bands->offset[m];
            T* gk = gs + static_cast<int64_t>(bands->start[m]) * L;
            for (int32_t k = 0; k < bands->count[m]; ++k) {
              (P::load(gk + k * L) + P(w[k]) * gl).store(gk + k * L);
            }
          }
        } else {
          for (int64_t k = 0; k < nb; ++k) load_valid(gp + (row * nb + k) * g.n_frames + f0).store(gs + k * L);
        }
        const double pw = *power;
        if (pw == 2.0) {
          for (int64_t k = 0; k < nb; ++k) {
            const P coef = P(T(k >= 1 && k < last_interior ? 1 : 2)) * P::load(gs + k * L);  // 2 * half * gs
            (P::load(xr + k * L) * coef).store(xr + k * L);
            (P::load(xi + k * L) * coef).store(xi + k * L);
          }
        } else {
          for (int64_t k = 0; k < nb; ++k) {
            const T half = k >= 1 && k < last_interior ? T(0.5) : T(1);
            for (int l = 0; l < L; ++l) {
              const T re = xr[k * L + l], im = xi[k * L + l];
              // d|X|^p = p |X|^(p - 2) Re(conj(X) dX); zero where X is (sgn's convention for p = 1).
              const T mag = std::sqrt(re * re + im * im);
              const T dm = pw == 1.0 ? T(1) / mag
                                     : static_cast<T>(pw) * static_cast<T>(std::pow(mag, static_cast<T>(pw - 2.0)));
              const T coef = mag > T(0) ? dm * gs[k * L + l] * half : T(0);
              xr[k * L + l] = re * coef;
              xi[k * L + l] = im * coef;
            }
          }
        }
      } else {
        for (int64_t k = 0; k < nb; ++k) {
          const T half = k >= 1 && k < last_interior ? T(0.5) : T(1);
          const T* gk = gp + 2 * ((row * nb + k) * g.n_frames + f0);
          for (int l = 0; l < L; ++l) {
            xr[k * L + l] = l < nvalid ? gk[2 * l] * half : T(0);
            xi[k * L + l] = l < nvalid ? gk[2 * l + 1] * half : T(0);
          }
        }
      }
      // irfft reads only the real parts of the first bin and, for an even n_fft, the last.
      for (int l = 0; l < L; ++l) {
        xi[l] = T(0);
        if (n_fft % 2 == 0) xi[(nb - 1) * L + l] = T(0);
      }
      T* re = ws.re.data();
      T* im = ws.im.data();
      if (p.ctx.real_trick) {
        // Z'_k = (G_k + conj G_{M-k}) + i (G_k - conj G_{M-k}) conj(W^k), W = e^{-2 pi i / N}; then
        // x_{2j} + i x_{2j+1} = sum_k Z'_k e^{+2 pi i jk / M}, taken as conj(FFT(conj(Z'))).
        const T* rt = plan.real_tw.data();
        for (int k = 0; k < n; ++k) {
          const int b = n - k;  // k == 0 pairs with the last bin, M
          const T wr = rt[2 * k], wi = rt[2 * k + 1];
          for (int l = 0; l < L; ++l) {
            const T ar = xr[k * L + l], ai = xi[k * L + l];
            const T br = xr[b * L + l], bi = -xi[b * L + l];
            const T sr = ar + br, si = ai + bi, dr = ar - br, di = ai - bi;
            const T tr = dr * wr + di * wi, ti = di * wr - dr * wi;  // d * conj(W^k)
            re[k * L + l] = sr - ti;
            im[k * L + l] = -(si + tr);
          }
        }
      } else {
        // The full Hermitian spectrum, conjugated: bin k and bin N - k = conj(bin k).
        for (int k = 0; k < n; ++k) {
          const int b = k < nb ? k : n - k;
          const T sign = k < nb ? T(-1) : T(1);
          for (int l = 0; l < L; ++l) {
            re[k * L + l] = xr[b * L + l];
            im[k * L + l] = sign * xi[b * L + l];
          }
        }
      }
      const auto [yr, yi] = fft::cpu_fft_any<L>(plan, re, im, ws.wre.data(), ws.wim.data(), ws.scratch.data());
      for (int l = 0; l < nvalid; ++l) {
        T* dst = o + (row * g.n_frames + f0 + l) * n_fft;
        if (p.ctx.real_trick) {
          for (int j = 0; j < n; ++j) {
            dst[2 * j] = yr[j * L + l] * win[2 * j];
            dst[2 * j + 1] = -yi[j * L + l] * win[2 * j + 1];
          }
        } else {
          for (int j = 0; j < n; ++j) dst[j] = yr[j * L + l] * win[j];
        }
      }
    });
  });
  return out;
}

} // namespace

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("spectrogram", &spectrogram_cpu);
  m.impl("mel_spectrogram", &mel_spectrogram_cpu);
  m.impl("_spectrogram_backward", &spectrogram_backward_cpu);
}

} // namespace audio
} // namespace fastprep
