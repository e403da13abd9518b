// CUDA spectrogram and fused mel spectrogram: one block transforms a group of
// consecutive frames entirely in shared memory (load + window, Stockham FFT
// stages, real-FFT post-pass, power) and projects onto the mel bands using
// only each band's nonzero bin range. The linear spectrogram never reaches
// global memory on the mel path.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "audio/fft/fft.h"
#include "audio/spectrogram_backward.h"
#include "audio/spectrogram_composite.h"
#include "audio/stft_common.h"

namespace fastprep {
namespace audio {
namespace {

using detail::Geometry;

enum OutKind : int { kPower = 0, kComplex = 1, kMel = 2 };

// Division by a runtime constant as one multiply-high: the index maths of every
// butterfly would otherwise cost more than its arithmetic. Exact for n, d < 2^16.
struct FastDiv {
  uint32_t d, m;
  FastDiv() = default;
  explicit FastDiv(uint32_t div) : d(div), m(div == 1 ? 0u : static_cast<uint32_t>(((uint64_t(1) << 32) + div - 1) / div)) {}
  __device__ __forceinline__ uint32_t div(uint32_t n) const { return d == 1 ? n : __umulhi(n, m); }
};

template <typename T>
struct Params {
  fft::PlanDesc plan;  // complex size M: n_fft / 2 (real trick) or n_fft
  const T* tw;         // stage twiddles then real post-pass twiddles, (re, im) pairs (global)
  int real_off;        // offset (in pairs) of the post-pass twiddles
  bool real_trick;
  int64_t length, n_fft, hop, n_frames, pad_left, n_bins, groups;
  int pad_mode;
  int fpb;  // frames per block
  int frame_stride;  // odd, so frames of one block fall in different banks
  int tw_pairs;      // twiddle pairs copied to shared memory
  int buf_len;       // elements per ping-pong buffer, skew padding included
  FastDiv div_m, div_fpb, div_per[fft::kMaxStages], div_ns[fft::kMaxStages];
  const T* wave;
  const T* window;  // padded to n_fft, scale folded in
  double power;
  // mel
  const T* fb;         // (n_bins, n_mels)
  const int* bands;    // (n_mels, 2): first bin, count
  int64_t n_mels;
  T* out;
};

// Shared-memory index skew: one padding slot every 32 (float) / 16 (double)
// elements, so the strided writes of the early Stockham stages (stride R) and
// the per-frame reads of the post-pass spread over all banks.
template <typename T>
__device__ __forceinline__ int skew(int i) {
  return i + (i >> (sizeof(T) == 4 ? 5 : 4));
}

template <int R, typename T>
__device__ __forceinline__ void stage_step(const T* tw, const fft::Stage& s, int stride, const T* xr, const T* xi,
                                           T* yr, T* yi, int base, int j, int q, int k) {
  T ar[R], ai[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int at = skew<T>(base + j + r * stride);
    ar[r] = xr[at];
    ai[r] = xi[at];
  }
  if (s.ns > 1) {  // the first pass has k == 0: all twiddles are 1
    const T* w = tw + 2 * (s.tw_offset + k * (R - 1));
#pragma unroll
    for (int r = 1; r < R; ++r) {
      const T wr = w[2 * (r - 1)], wi = w[2 * (r - 1) + 1];
      const T br = ar[r];
      ar[r] = br * wr - ai[r] * wi;
      ai[r] = br * wi + ai[r] * wr;
    }
  }
  fft::butterfly<R>(ar, ai);
  const int out_base = base + q * s.ns * R + k;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int at = skew<T>(out_base + r * s.ns);
    yr[at] = ar[r];
    yi[at] = ai[r];
  }
}

// Generic radix: each output computed directly (O(R^2) reads; rare sizes only).
template <typename T>
__device__ void stage_step_generic(const T* tw, const fft::Stage& s, int stride, const T* xr, const T* xi, T* yr,
                                   T* yi, int base, int j, int q0, int k) {
  const int R = s.radix;
  const T* w = tw + 2 * (s.tw_offset + k * (R - 1));
  const T* roots = tw + 2 * s.root_offset;
  const int out_base = base + q0 * s.ns * R + k;
  for (int q = 0; q < R; ++q) {
    T sr = 0, si = 0;
    int t = 0;
    for (int r = 0; r < R; ++r) {
      const int at = skew<T>(base + j + r * stride);
      T br = xr[at], bi = xi[at];
      if (r > 0) {
        const T wr = w[2 * (r - 1)], wi = w[2 * (r - 1) + 1];
        const T tr = br * wr - bi * wi;
        bi = br * wi + bi * wr;
        br = tr;
      }
      const T cr = roots[2 * t], ci = roots[2 * t + 1];
      sr += br * cr - bi * ci;
      si += br * ci + bi * cr;
      t += q;
      if (t >= R) t -= R;
    }
    yr[skew<T>(out_base + q * s.ns)] = sr;
    yi[skew<T>(out_base + q * s.ns)] = si;
  }
}

template <typename T>
__device__ __forceinline__ T power_of(T re, T im, double power) {
  const T m2 = re * re + im * im;
  if (power == 2.0) return m2;
  if (power == 1.0) return sqrt(m2);
  return pow(m2, static_cast<T>(power * 0.5));
}

template <typename T, int KIND>
__global__ void spectrogram_kernel(const Params<T> p) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const int M = p.plan.n;
  const int fs = p.frame_stride;
  const int fpb = p.fpb;
  T* tw = smem;  // twiddles, copied once per block
  T* ar = tw + 2 * p.tw_pairs;
  T* ai = ar + p.buf_len;
  T* br = ai + p.buf_len;
  T* bi = br + p.buf_len;
  const int tid = threadIdx.x;
  const int nthreads = blockDim.x;
  for (int i = tid; i < 2 * p.tw_pairs; i += nthreads) tw[i] = p.tw[i];
  const int64_t chunks = (p.n_frames + fpb - 1) / fpb;
  for (int64_t blk = blockIdx.x; blk < p.groups; blk += gridDim.x) {
    const int64_t row = blk / chunks;
    const int64_t f0 = (blk % chunks) * fpb;
    const T* x = p.wave + row * p.length;
    __syncthreads();  // twiddles ready; previous group's buffers free
    // 1. frames -> (ar, ai), windowed; even n_fft packs sample pairs as complex.
    for (int idx = tid; idx < fpb * M; idx += nthreads) {
      const int f = p.div_m.div(idx), j = idx - f * M;
      const int64_t frame = f0 + f;
      T vr = 0, vi = 0;
      if (frame < p.n_frames) {
        const int64_t start = frame * p.hop - p.pad_left;
        const int64_t i0 = p.real_trick ? 2 * j : j;
        const int64_t t0 = start + i0;
        if (t0 >= 0 && t0 + 1 < p.length) {  // interior: no padding rule needed
          vr = x[t0] * p.window[i0];
          if (p.real_trick) vi = x[t0 + 1] * p.window[i0 + 1];
        } else {
          int64_t t = detail::source_index(t0, p.length, p.pad_mode);
          vr = t < 0 ? T(0) : x[t] * p.window[i0];
          if (p.real_trick) {
            t = detail::source_index(t0 + 1, p.length, p.pad_mode);
            vi = t < 0 ? T(0) : x[t] * p.window[i0 + 1];
          }
        }
      }
      ar[skew<T>(f * fs + j)] = vr;
      ai[skew<T>(f * fs + j)] = vi;
    }
    __syncthreads();
    // 2. Stockham stages, ping-pong between (a) and (b).
    T *xr = ar, *xi = ai, *yr = br, *yi = bi;
    for (int si = 0; si < p.plan.num_stages; ++si) {
      const fft::Stage s = p.plan.stages[si];
      const FastDiv dper = p.div_per[si], dns = p.div_ns[si];
      const int per = dper.d;
      for (int idx = tid; idx < fpb * per; idx += nthreads) {
        const int f = dper.div(idx), j = idx - f * per;
        const int q = dns.div(j), k = j - q * s.ns;
        const int base = f * fs;
        switch (s.radix) {
          case 2: stage_step<2>(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
          case 3: stage_step<3>(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
          case 4: stage_step<4>(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
          case 5: stage_step<5>(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
          case 8: stage_step<8>(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
          default: stage_step_generic(tw, s, per, xr, xi, yr, yi, base, j, q, k); break;
        }
      }
      __syncthreads();
      T* t0 = xr; xr = yr; yr = t0;
      T* t1 = xi; xi = yi; yi = t1;
    }
    // 3. Onesided spectrum X_k, consumed at once. Frames vary fastest so
    //    neighbouring threads write neighbouring frames (coalesced). The mel
    //    path parks the powers in the free ping-pong buffer.
    T* spec = yr;  // (fpb, n_bins), unskewed, fits: 2 * buf_len >= fpb * (M + 1)
    for (int idx = tid; idx < fpb * p.n_bins; idx += nthreads) {
      const int k = p.div_fpb.div(idx);
      const int f = idx - k * fpb;
      const int64_t frame = f0 + f;
      const int base = f * fs;
      T re, im;
      if (p.real_trick) {
        const int a = skew<T>(base + (k == M ? 0 : k));
        const int b = skew<T>(base + (k == 0 ? 0 : M - k));
        const T wr = tw[2 * (p.real_off + k)], wi = tw[2 * (p.real_off + k) + 1];
        const T z0r = xr[a], z0i = xi[a], cr = xr[b], ci = -xi[b];
        const T er = T(0.5) * (z0r + cr), ei = T(0.5) * (z0i + ci);
        const T orr = T(0.5) * (z0i - ci), oi = T(-0.5) * (z0r - cr);
        re = er + wr * orr - wi * oi;
        im = ei + wr * oi + wi * orr;
      } else {
        re = xr[skew<T>(base + k)];
        im = xi[skew<T>(base + k)];
      }
      if (KIND == kMel) {
        spec[f * p.n_bins + k] = power_of(re, im, p.power);
      } else if (frame < p.n_frames) {
        const int64_t o = (row * p.n_bins + k) * p.n_frames + frame;
        if (KIND == kPower) {
          p.out[o] = power_of(re, im, p.power);
        } else {
          p.out[2 * o] = re;
          p.out[2 * o + 1] = im;
        }
      }
    }
    if (KIND == kMel) {
      __syncthreads();
      for (int idx = tid; idx < fpb * p.n_mels; idx += nthreads) {
        const int m = p.div_fpb.div(idx);
        const int f = idx - m * fpb;
        const int64_t frame = f0 + f;
        if (frame >= p.n_frames) continue;
        const int start = p.bands[2 * m], count = p.bands[2 * m + 1];
        const T* sp = spec + f * p.n_bins + start;
        const T* w = p.fb + static_cast<int64_t>(start) * p.n_mels + m;
        T acc = 0;
        for (int k = 0; k < count; ++k) acc += sp[k] * __ldg(w + k * p.n_mels);
        p.out[(row * p.n_mels + m) * p.n_frames + frame] = acc;
      }
    }
  }
}

// Per mel band, first nonzero bin and count (the band's support).
template <typename T>
__global__ void band_ranges_kernel(const T* fb, int64_t n_bins, int64_t n_mels, int* bands) {
  const int64_t m = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (m >= n_mels) return;
  int64_t lo = n_bins, hi = -1;
  for (int64_t k = 0; k < n_bins; ++k) {
    if (fb[k * n_mels + m] != T(0)) {
      if (lo == n_bins) lo = k;
      hi = k;
    }
  }
  if (hi < 0) lo = 0;
  bands[2 * m] = static_cast<int>(lo);
  bands[2 * m + 1] = static_cast<int>(hi - lo + 1);
}

// Device twiddles per (n, dtype, device), uploaded once.
struct DevicePlan {
  fft::PlanDesc desc;
  at::Tensor tw;
  int real_off;
};

DevicePlan device_plan(int n, at::ScalarType dtype, const at::Device& device) {
  static std::mutex mu;
  // Never destroyed: freeing CUDA memory from a static destructor races driver shutdown.
  static auto* cache = new std::map<std::tuple<int, int, int>, DevicePlan>();
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(n, static_cast<int>(dtype), static_cast<int>(device.index()));
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  std::vector<double> tw;
  DevicePlan dp;
  dp.desc = fft::make_plan(n, tw);
  dp.real_off = static_cast<int>(tw.size() / 2);
  const double two_pi = 6.283185307179586476925286766559;
  for (int k = 0; k <= n; ++k) {
    tw.push_back(std::cos(-two_pi * k / (2.0 * n)));
    tw.push_back(std::sin(-two_pi * k / (2.0 * n)));
  }
  dp.tw = at::tensor(tw, at::TensorOptions().dtype(at::kDouble)).to(dtype).to(device);
  cache->emplace(key, dp);
  return dp;
}

// Elements per ping-pong buffer for `frames` frames of an M-point FFT, skew padding included.
inline int buffer_len(int M, int frames, size_t elem) {
  const int stride = M | 1;
  return frames * stride + ((frames * stride) >> (elem == 4 ? 5 : 4)) + 1;
}

// Shared memory of one block: the twiddles and four buffers of `frames` frames.
inline size_t block_smem(int M, int64_t tw_pairs, size_t elem, int frames) {
  return elem * (2 * static_cast<size_t>(tw_pairs) + 4 * static_cast<size_t>(buffer_len(M, frames, elem)));
}

// Whether the fused kernel can run n_fft (n_mels bands) at all: index maths in
// 16 bits and one frame's buffers in the GPU's shared memory.
bool fused_kernel_fits(int64_t n_fft, int64_t n_mels, const DevicePlan& dp, size_t elem) {
  const int64_t widest = std::max<int64_t>({dp.desc.n + int64_t(1), n_fft / 2 + 1, n_mels});
  return widest < 65536 && block_smem(dp.desc.n, dp.tw.numel() / 2, elem, 1) <=
                               at::cuda::getCurrentDeviceProperties()->sharedMemPerBlockOptin;
}

template <typename T>
void launch(Params<T>& p, int kind, int64_t batch, int64_t tw_pairs) {
  const int M = p.plan.n;
  TORCH_CHECK(M < 65536, "spectrogram: n_fft=", p.n_fft, " is too large for the CUDA kernel");
  p.frame_stride = M | 1;
  p.tw_pairs = static_cast<int>(tw_pairs);
  auto buf_len = [&](int frames) { return buffer_len(M, frames, sizeof(T)); };
  auto smem_for = [&](int frames) { return block_smem(M, tw_pairs, sizeof(T), frames); };
  constexpr size_t kDefaultSmem = 48 * 1024;
  // 64 KB of frames per block and 512 threads measured best on H200 (benchmarks/results/audio-cuda.json).
  constexpr size_t target_smem = 64 * 1024;
  constexpr int threads = 512;
  // FastDiv needs every per-block index (fpb * max(M, n_bins, n_mels)) below 2^16.
  const int64_t widest = std::max<int64_t>({static_cast<int64_t>(M) + 1, p.n_bins, p.n_mels});
  TORCH_CHECK(widest < 65536, "spectrogram: n_fft / n_mels too large for the CUDA kernel (", widest, ")");
  int fpb = static_cast<int>(std::min<int64_t>(64, 65535 / widest));
  while (fpb > 1 && smem_for(fpb) > target_smem) --fpb;
  const size_t smem = smem_for(fpb);
  const auto* props = at::cuda::getCurrentDeviceProperties();
  TORCH_CHECK(smem <= props->sharedMemPerBlockOptin, "spectrogram: n_fft=", p.n_fft, " needs ", smem,
              " bytes of shared memory per block; this GPU offers ", props->sharedMemPerBlockOptin);
  p.fpb = fpb;
  p.buf_len = buf_len(fpb);
  p.div_m = FastDiv(M);
  p.div_fpb = FastDiv(fpb);
  for (int s = 0; s < p.plan.num_stages; ++s) {
    p.div_per[s] = FastDiv(M / p.plan.stages[s].radix);
    p.div_ns[s] = FastDiv(p.plan.stages[s].ns);
  }
  p.groups = ((p.n_frames + fpb - 1) / fpb) * batch;
  if (p.groups == 0) return;
  // Enough blocks to fill every SM several times; each loops over groups, so
  // the twiddle copy is paid once per block.
  const int64_t cap = static_cast<int64_t>(props->multiProcessorCount) * 16;
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(p.groups, cap));
  auto stream = at::cuda::getCurrentCUDAStream();
  auto run = [&](auto kernel) {
    if (smem > kDefaultSmem) {
      C10_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    }
    kernel<<<grid, threads, smem, stream>>>(p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  };
  if (kind == kPower) run(spectrogram_kernel<T, kPower>);
  else if (kind == kComplex) run(spectrogram_kernel<T, kComplex>);
  else run(spectrogram_kernel<T, kMel>);
}

template <typename T>
Params<T> make_params(const Geometry& g, const DevicePlan& dp, bool real_trick, const at::Tensor& wave,
                      const at::Tensor& window) {
  Params<T> p{};
  p.plan = dp.desc;
  p.tw = dp.tw.const_data_ptr<T>();
  p.real_off = dp.real_off;
  p.real_trick = real_trick;
  p.length = g.length;
  p.n_fft = g.n_fft;
  p.hop = g.hop;
  p.n_frames = g.n_frames;
  p.pad_left = g.pad_left;
  p.n_bins = g.n_bins;
  p.pad_mode = g.pad_mode;
  p.wave = wave.const_data_ptr<T>();
  p.window = window.const_data_ptr<T>();
  return p;
}

at::Tensor spectrogram_cuda(const at::Tensor& waveform, const at::Tensor& window, int64_t n_fft, int64_t hop_length,
                            bool center, c10::string_view pad_mode, std::optional<double> power, int64_t normalized) {
  detail::check_kernel_inputs(waveform, power, center, pad_mode, "spectrogram");
  const c10::cuda::CUDAGuard guard(waveform.device());
  const Geometry g = detail::make_geometry(waveform, window, n_fft, hop_length, center, std::string(pad_mode));
  if (detail::fft_size_needs_composite(n_fft)) {
    return detail::spectrogram_composite(waveform, window, std::nullopt, n_fft, hop_length, center, pad_mode, power,
                                         normalized);
  }
  // Rows are read as contiguous spans; a non-contiguous input is copied once here.
  const at::Tensor wave = waveform.contiguous();
  const at::Tensor win = detail::padded_scaled_window(window, n_fft, normalized, waveform.scalar_type());
  const bool real_trick = n_fft % 2 == 0;
  const DevicePlan dp = device_plan(static_cast<int>(real_trick ? n_fft / 2 : n_fft), waveform.scalar_type(),
                                    waveform.device());
  if (!fused_kernel_fits(n_fft, 0, dp, waveform.element_size())) {
    return detail::spectrogram_composite(waveform, window, std::nullopt, n_fft, hop_length, center, pad_mode, power,
                                         normalized);
  }
  const auto shape = detail::output_shape(waveform, g.n_bins, g.n_frames);
  at::Tensor out = power.has_value()
      ? at::empty(shape, waveform.options())
      : at::empty(shape, waveform.options().dtype(c10::toComplexType(waveform.scalar_type())));
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES(waveform.scalar_type(), "spectrogram_cuda", [&] {
    Params<scalar_t> p = make_params<scalar_t>(g, dp, real_trick, wave, win);
    p.power = power.value_or(2.0);
    p.out = reinterpret_cast<scalar_t*>(out.mutable_data_ptr());
    launch(p, power.has_value() ? kPower : kComplex, g.batch, dp.tw.numel() / 2);
  });
  return out;
}

at::Tensor mel_spectrogram_cuda(const at::Tensor& waveform, const at::Tensor& window, const at::Tensor& fb,
                                int64_t n_fft, int64_t hop_length, bool center, c10::string_view pad_mode,
                                double power, int64_t normalized) {
  detail::check_kernel_inputs(waveform, power, center, pad_mode, "mel_spectrogram");
  const c10::cuda::CUDAGuard guard(waveform.device());
  const Geometry g = detail::make_geometry(waveform, window, n_fft, hop_length, center, std::string(pad_mode));
  detail::check_fb(fb, g, waveform);
  if (detail::fft_size_needs_composite(n_fft)) {
    return detail::spectrogram_composite(waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized);
  }
  const at::Tensor wave = waveform.contiguous();
  const at::Tensor win = detail::padded_scaled_window(window, n_fft, normalized, waveform.scalar_type());
  const at::Tensor fbc = fb.to(waveform.scalar_type()).contiguous();
  const int64_t n_mels = fb.size(1);
  const bool real_trick = n_fft % 2 == 0;
  const DevicePlan dp = device_plan(static_cast<int>(real_trick ? n_fft / 2 : n_fft), waveform.scalar_type(),
                                    waveform.device());
  if (!fused_kernel_fits(n_fft, n_mels, dp, waveform.element_size())) {
    return detail::spectrogram_composite(waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized);
  }
  at::Tensor out = at::empty(detail::output_shape(waveform, n_mels, g.n_frames), waveform.options());
  if (out.numel() == 0) return out;
  at::Tensor bands = at::empty({n_mels, 2}, waveform.options().dtype(at::kInt));
  auto stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(waveform.scalar_type(), "mel_spectrogram_cuda", [&] {
    band_ranges_kernel<scalar_t><<<static_cast<unsigned>((n_mels + 127) / 128), 128, 0, stream>>>(
        fbc.const_data_ptr<scalar_t>(), g.n_bins, n_mels, bands.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    Params<scalar_t> p = make_params<scalar_t>(g, dp, real_trick, wave, win);
    p.power = power;
    p.fb = fbc.const_data_ptr<scalar_t>();
    p.bands = bands.const_data_ptr<int>();
    p.n_mels = n_mels;
    p.out = out.mutable_data_ptr<scalar_t>();
    launch(p, kMel, g.batch, dp.tw.numel() / 2);
  });
  return out;
}

} // namespace

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("spectrogram", &spectrogram_cuda);
  m.impl("mel_spectrogram", &mel_spectrogram_cuda);
  // The backward recomputes the spectrum with the kernel above and maps the
  // gradient back with cuFFT's irfft (audio/spectrogram_backward.cpp).
  m.impl("_spectrogram_backward", &detail::spectrogram_backward);
}

} // namespace audio
} // namespace fastprep
