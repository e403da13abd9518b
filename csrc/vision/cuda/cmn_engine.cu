// One grid-stride kernel serves crop + flip + layout + convert + normalize:
// each thread writes V consecutive output pixels of one row (a vector store
// when the output row is contiguous and aligned) and reads them through the
// input strides, a flip being a negative stride plus an offset.
#include "vision/cuda/cmn_engine.h"

#include "common/cuda_utils.cuh"

#include <ATen/Dispatch.h>
#include <ATen/Dispatch_v2.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/detail/IntegerDivider.cuh>
#include <c10/cuda/CUDAGuard.h>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace fastprep {
namespace vision {
namespace detail {
namespace {

// Per-channel constants travel by value in the launch: no host-to-device copy per call.
constexpr int kMaxChannels = 64;

// Explicitly rounded ops: nvcc would otherwise contract x * s - m into an FMA,
// which rounds once where torchvision rounds twice. The host versions compute
// the fill value with the same arithmetic.
#ifdef __CUDA_ARCH__
#define FASTPREP_RN(dev, host) return dev
#else
#define FASTPREP_RN(dev, host) return host
#endif
__host__ __device__ __forceinline__ float mul_rn(float a, float b) { FASTPREP_RN(__fmul_rn(a, b), a * b); }
__host__ __device__ __forceinline__ float sub_rn(float a, float b) { FASTPREP_RN(__fsub_rn(a, b), a - b); }
__host__ __device__ __forceinline__ float div_rn(float a, float b) { FASTPREP_RN(__fdiv_rn(a, b), a / b); }
__host__ __device__ __forceinline__ double mul_rn(double a, double b) { FASTPREP_RN(__dmul_rn(a, b), a * b); }
__host__ __device__ __forceinline__ double sub_rn(double a, double b) { FASTPREP_RN(__dsub_rn(a, b), a - b); }
__host__ __device__ __forceinline__ double div_rn(double a, double b) { FASTPREP_RN(__ddiv_rn(a, b), a / b); }
__host__ __device__ __forceinline__ float fma_rn(float a, float b, float c) { FASTPREP_RN(__fmaf_rn(a, b, c), a * b + c); }
__host__ __device__ __forceinline__ double fma_rn(double a, double b, double c) { FASTPREP_RN(__fma_rn(a, b, c), a * b + c); }

template <typename in_t, typename out_t>
struct CopyOp {
  __host__ __device__ __forceinline__ out_t operator()(in_t v, int64_t) const { return static_cast<out_t>(v); }
};

// torchvision's arithmetic, each step rounded to the output dtype (see the CPU engine).
template <typename in_t, typename out_t, bool kNorm>
struct ExactOp {
  using acc_t = at::opmath_type<out_t>;
  acc_t scale;
  acc_t mean[kMaxChannels];
  acc_t stdv[kMaxChannels];
  __host__ __device__ __forceinline__ out_t operator()(in_t v, int64_t c) const {
    acc_t x = static_cast<acc_t>(static_cast<out_t>(v));
    if constexpr (std::is_integral_v<in_t>) {
      x = static_cast<acc_t>(static_cast<out_t>(mul_rn(x, scale)));
    }
    if constexpr (kNorm) {
      x = static_cast<acc_t>(static_cast<out_t>(sub_rn(x, mean[c])));
      x = static_cast<acc_t>(static_cast<out_t>(div_rn(x, stdv[c])));
    }
    return static_cast<out_t>(x);
  }
};

// Opt-in fast mode: one FMA with scale/std and -mean/std folded in.
template <typename in_t, typename out_t>
struct FastOp {
  using acc_t = at::opmath_type<out_t>;
  acc_t a[kMaxChannels];
  acc_t b[kMaxChannels];
  __host__ __device__ __forceinline__ out_t operator()(in_t v, int64_t c) const {
    return static_cast<out_t>(fma_rn(static_cast<acc_t>(v), a[c], b[c]));
  }
};

template <typename in_t, typename out_t>
struct Args {
  const in_t* __restrict__ in;
  out_t* __restrict__ out;
  int64_t N, C, H, W, OH, OW;
  int64_t isn, isc, ish, isw;
  int64_t osn, osc, osh, osw;
  int64_t top, left;
  bool fh, fv;
  const int64_t* wins; // [N, 4] or null
  const bool* flips;   // [N, 2] or null
  out_t fill[kMaxChannels];
};

template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

// Division by a per-launch constant. In 32 bits, torch's multiply-high divider (dividends up to INT32_MAX):
// plain 64-bit division and modulo are emulated in tens of instructions each and made this kernel
// compute-bound at a fifth of the copy bandwidth on an H200.
template <typename idx_t>
struct Divider {
  idx_t d;
  explicit Divider(int64_t v) : d(static_cast<idx_t>(v)) {}
  __device__ __forceinline__ idx_t div(idx_t n) const { return n / d; }
};
template <>
struct Divider<uint32_t> {
  at::cuda::detail::IntDivider<unsigned int> f;
  explicit Divider(int64_t v) : f(static_cast<unsigned int>(v)) {}
  __device__ __forceinline__ uint32_t div(uint32_t n) const { return f.div(n); }
};

// kLut (uint8 input): the block first tabulates op over all 256 values of each channel in shared memory,
// then each pixel is one table read. The table holds op's own results, so the output is unchanged; the
// per-pixel arithmetic (torchvision's exact sequence ends in an IEEE division) was the bottleneck.
template <typename in_t, typename out_t, typename Op, int V, typename idx_t, bool kLut>
__global__ void crop_mirror_normalize_kernel(const Args<in_t, out_t> a, const Op op, const Divider<idx_t> div_owv,
                                             const Divider<idx_t> div_oh, const Divider<idx_t> div_c) {
  extern __shared__ __align__(16) unsigned char lut_raw[];
  out_t* lut = reinterpret_cast<out_t*>(lut_raw);
  if constexpr (kLut) {
    for (int i = threadIdx.x; i < a.C * 256; i += blockDim.x) {
      lut[i] = op(static_cast<in_t>(i & 255), i >> 8);
    }
    __syncthreads();
  }
  const idx_t OW = static_cast<idx_t>(a.OW), OH = static_cast<idx_t>(a.OH), C = static_cast<idx_t>(a.C);
  const idx_t owv = OW / V;
  const idx_t total = static_cast<idx_t>(a.N) * C * OH * owv;
  const idx_t step = static_cast<idx_t>(blockDim.x) * gridDim.x;
  for (idx_t idx = static_cast<idx_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += step) {
    idx_t r = div_owv.div(idx);
    const idx_t xv = idx - r * owv;
    idx_t q = div_oh.div(r);
    const idx_t oy = r - q * OH;
    const idx_t n = div_c.div(q);
    const idx_t c = q - n * C;
    int64_t top = a.top, left = a.left;
    bool fh = a.fh, fv = a.fv;
    if (a.wins != nullptr) {
      top = a.wins[n * 4];
      left = a.wins[n * 4 + 1];
      fh = a.flips[n * 2];
      fv = a.flips[n * 2 + 1];
    }
    const int64_t iy = top + static_cast<int64_t>(fv ? OH - 1 - oy : oy);
    const bool row_in = iy >= 0 && iy < a.H;
    // Window offsets may be anywhere (outside reads are filled): compare in 64 bits, index in idx_t.
    const idx_t row = static_cast<idx_t>(n * a.isn + c * a.isc + (row_in ? iy : 0) * a.ish);
    Vec<out_t, V> vals;
#pragma unroll
    for (int v = 0; v < V; ++v) {
      const idx_t ox = xv * V + v;
      const int64_t ix = left + static_cast<int64_t>(fh ? OW - 1 - ox : ox);
      if (row_in && ix >= 0 && ix < a.W) {
        const in_t x = a.in[row + static_cast<idx_t>(ix) * static_cast<idx_t>(a.isw)];
        if constexpr (kLut) {
          vals.v[v] = lut[c * 256 + static_cast<idx_t>(x)];
        } else {
          vals.v[v] = op(x, c);
        }
      } else {
        vals.v[v] = a.fill[c];
      }
    }
    out_t* dst = a.out + (n * static_cast<idx_t>(a.osn) + c * static_cast<idx_t>(a.osc) + oy * static_cast<idx_t>(a.osh) +
                          xv * V * static_cast<idx_t>(a.osw));
    if constexpr (V > 1) {
      *reinterpret_cast<Vec<out_t, V>*>(dst) = vals; // one 16-byte store
    } else {
      *dst = vals.v[0];
    }
  }
}

// Whether every index the kernel forms fits the 32-bit divider (INT32_MAX): the loop counter, output
// offsets, and input offsets of in-image pixels.
inline bool fits_32bit(const Plan& p, int64_t items) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const int64_t out_span = (p.N - 1) * p.os[0] + (p.C - 1) * p.os[1] + (p.OH - 1) * p.os[2] + (p.OW - 1) * p.os[3];
  const int64_t in_span = (p.N - 1) * p.is[0] + (p.C - 1) * p.is[1] + (p.H - 1) * p.is[2] + (p.W - 1) * p.is[3];
  return items < kMax && p.out.numel() < kMax && out_span < kMax && in_span < kMax && p.in.numel() < kMax;
}

template <typename in_t, typename out_t, typename Op, int V, typename idx_t>
void launch_idx(const Op& op, const Args<in_t, out_t>& a, int64_t items) {
  auto stream = at::cuda::getCurrentCUDAStream();
  const unsigned int grid = fastprep::detail::capped_grid(items);
  const Divider<idx_t> div_owv(a.OW / V), div_oh(a.OH), div_c(a.C);
  constexpr bool kLutable = std::is_same_v<in_t, uint8_t> && !std::is_same_v<Op, CopyOp<in_t, out_t>>;
  const size_t lut_bytes = static_cast<size_t>(a.C) * 256 * sizeof(out_t);
  // Tabulating costs C * 256 op calls per block: worth it once a block has at least as many pixels.
  if (kLutable && lut_bytes <= 32 * 1024 && items * V >= int64_t{grid} * a.C * 256) {
    crop_mirror_normalize_kernel<in_t, out_t, Op, V, idx_t, kLutable>
        <<<grid, fastprep::detail::kThreadsPerBlock, lut_bytes, stream>>>(a, op, div_owv, div_oh, div_c);
  } else {
    crop_mirror_normalize_kernel<in_t, out_t, Op, V, idx_t, false>
        <<<grid, fastprep::detail::kThreadsPerBlock, 0, stream>>>(a, op, div_owv, div_oh, div_c);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename in_t, typename out_t, typename Op, int V>
void launch_v(const Plan& p, const Op& op, const Args<in_t, out_t>& a, int64_t items) {
  if (fits_32bit(p, items)) {
    launch_idx<in_t, out_t, Op, V, uint32_t>(op, a, items);
  } else {
    launch_idx<in_t, out_t, Op, V, int64_t>(op, a, items);
  }
}

template <typename in_t, typename out_t, typename Op>
void launch(const Plan& p, const Op& op, Args<in_t, out_t>& a) {
  for (int64_t c = 0; c < a.C; ++c) {
    // The fill is a value of the input dtype (torchvision pads before converting), so it goes
    // through the same arithmetic as the pixels, here on the host.
    a.fill[c] = op(static_cast<in_t>(p.fill[c]), c);
  }
  // 16-byte stores (8 halves, 4 floats, 16 bytes) where the output rows allow, else one element a thread.
  constexpr int V = static_cast<int>(16 / sizeof(out_t));
  const auto addr = reinterpret_cast<uintptr_t>(a.out);
  const bool vec = a.osw == 1 && a.OW % V == 0 && a.osh % V == 0 && a.osc % V == 0 && a.osn % V == 0 &&
      addr % (sizeof(out_t) * V) == 0;
  const int64_t rows = a.N * a.C * a.OH;
  if (vec) {
    launch_v<in_t, out_t, Op, V>(p, op, a, rows * (a.OW / V));
  } else {
    launch_v<in_t, out_t, Op, 1>(p, op, a, rows * a.OW);
  }
}

template <typename in_t, typename out_t>
void run_convert(const Plan& p, Args<in_t, out_t>& a);

template <typename in_t, typename out_t, bool kCopy>
void run_typed(const Plan& p, const Windows& w) {
  Args<in_t, out_t> a{};
  a.in = p.in.const_data_ptr<in_t>();
  a.out = p.out.mutable_data_ptr<out_t>();
  a.N = p.N;
  a.C = p.C;
  a.H = p.H;
  a.W = p.W;
  a.OH = p.OH;
  a.OW = p.OW;
  a.isn = p.is[0];
  a.isc = p.is[1];
  a.ish = p.is[2];
  a.isw = p.is[3];
  a.osn = p.os[0];
  a.osc = p.os[1];
  a.osh = p.os[2];
  a.osw = p.os[3];
  a.top = w.top;
  a.left = w.left;
  a.fh = w.flip_h;
  a.fv = w.flip_v;
  a.wins = w.per_sample.defined() ? w.per_sample.const_data_ptr<int64_t>() : nullptr;
  a.flips = w.flips.defined() ? w.flips.const_data_ptr<bool>() : nullptr;
  TORCH_CHECK_VALUE(a.C <= kMaxChannels, "the CUDA kernels support up to ", kMaxChannels, " channels, got ", a.C);

  if constexpr (kCopy) {
    launch(p, CopyOp<in_t, out_t>{}, a);
  } else {
    run_convert(p, a);
  }
}

template <typename in_t, typename out_t>
void run_convert(const Plan& p, Args<in_t, out_t>& a) {
  using acc_t = at::opmath_type<out_t>;
  auto rnd = [](double v) { return static_cast<acc_t>(static_cast<out_t>(v)); };
  if (p.fast) {
    FastOp<in_t, out_t> op{};
    for (int64_t c = 0; c < a.C; ++c) {
      op.a[c] = static_cast<acc_t>(p.scale / p.stdv[c]);
      op.b[c] = static_cast<acc_t>(-p.mean[c] / p.stdv[c]);
    }
    launch(p, op, a);
    return;
  }
  if (p.norm) {
    ExactOp<in_t, out_t, true> op{};
    op.scale = static_cast<acc_t>(p.scale);
    for (int64_t c = 0; c < a.C; ++c) {
      op.mean[c] = rnd(p.mean[c]);
      op.stdv[c] = rnd(p.stdv[c]);
    }
    launch(p, op, a);
  } else {
    ExactOp<in_t, out_t, false> op{};
    op.scale = static_cast<acc_t>(p.scale);
    launch(p, op, a);
  }
}

} // namespace

void run_cuda(const Plan& p, const Windows& w) {
  if (p.out.numel() == 0) {
    return;
  }
  c10::cuda::CUDAGuard guard(p.in.device());
  if (!p.convert) {
    // Data movement only: every dtype torchvision's crop / flip / pad take (16-bit PNGs decode to uint16).
    AT_DISPATCH_V2(p.in.scalar_type(), "fastprep_crop_cuda", AT_WRAP([&] { run_typed<scalar_t, scalar_t, true>(p, w); }),
                   AT_EXPAND(AT_ALL_TYPES), AT_EXPAND(AT_BAREBONES_UNSIGNED_TYPES), AT_EXPAND(AT_COMPLEX_TYPES),
                   at::kHalf, at::kBFloat16, at::kBool);
    return;
  }
  AT_DISPATCH_V2(p.in.scalar_type(), "fastprep_cmn_cuda_in", AT_WRAP([&] {
                   using in_t = scalar_t;
                   AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, p.out.scalar_type(),
                                                   "fastprep_cmn_cuda_out", [&] { run_typed<in_t, scalar_t, false>(p, w); });
                 }),
                 at::kByte, AT_EXPAND(AT_FLOATING_TYPES), at::kHalf, at::kBFloat16);
}

} // namespace detail
} // namespace vision
} // namespace fastprep
