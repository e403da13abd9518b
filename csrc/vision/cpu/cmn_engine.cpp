// One loop serves crop + flip + layout + convert + normalize: each output row
// is a strided read of one input row (a flip is a negative stride plus an
// offset, as in DALI's slice_flip_normalize_permute_pad), with the parts of
// the window that fall outside the image filled with the transformed fill.
#include "vision/cpu/cmn_engine.h"
#include "common/cpu_isa.h"
#include "vision/ops_glue.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/DistributionsHelper.h>

#include <ATen/Dispatch.h>
#include <ATen/Dispatch_v2.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <c10/util/SmallVector.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define FASTPREP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FASTPREP_ALWAYS_INLINE inline
#endif

// The build targets baseline x86-64 (SSE2); the hot loops get an AVX2 clone chosen
// at run time. No "fma" in that target, so the compiler cannot contract the
// mul/sub/div chain and results stay bit-exact with torchvision. The uint8 ->
// float32 normalize rows also have an AVX-512 form with FMA, written so that
// nothing can be contracted (see fma_division_exact).
#if defined(__x86_64__) && defined(__GNUC__)
#define FASTPREP_AVX2_CLONE 1
#define FASTPREP_TARGET_AVX2 __attribute__((target("avx2")))
#define FASTPREP_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define FASTPREP_AVX2_CLONE 0
#define FASTPREP_TARGET_AVX2
#endif

namespace fastprep {
namespace vision {
namespace detail {
namespace {

// Same value, same type: crop / flip.
template <typename in_t, typename out_t>
struct Copy {
  FASTPREP_ALWAYS_INLINE out_t operator()(in_t v) const {
    return static_cast<out_t>(v);
  }
};

// torchvision's arithmetic, step by step, each step rounded to the output dtype:
// to(dtype) -> mul_(1/255) for uint8 -> sub(mean) -> div_(std), with mean/std
// already rounded to the output dtype and then widened to its opmath type.
template <typename in_t, typename out_t, bool kNorm>
struct Exact {
  using acc_t = at::opmath_type<out_t>;
  acc_t scale, mean, stdv;
  FASTPREP_ALWAYS_INLINE out_t operator()(in_t v) const {
    acc_t x = static_cast<acc_t>(static_cast<out_t>(v));
    if constexpr (std::is_integral_v<in_t>) {
      x = static_cast<acc_t>(static_cast<out_t>(x * scale));
    }
    if constexpr (kNorm) {
      x = static_cast<acc_t>(static_cast<out_t>(x - mean));
      x = static_cast<acc_t>(static_cast<out_t>(x / stdv));
    }
    return static_cast<out_t>(x);
  }
};

// Opt-in fast mode: one multiply-add with scale/std and -mean/std folded in.
template <typename in_t, typename out_t>
struct Fast {
  using acc_t = at::opmath_type<out_t>;
  acc_t a, b;
  FASTPREP_ALWAYS_INLINE out_t operator()(in_t v) const {
    return static_cast<out_t>(static_cast<acc_t>(v) * a + b);
  }
};

template <typename F>
struct IsExactU8F32 : std::false_type {};
template <bool kNorm>
struct IsExactU8F32<Exact<uint8_t, float, kNorm>> : std::true_type {};

#if FASTPREP_AVX2_CLONE
// The hot case (uint8 -> float32, exact, unit-stride output, forward or mirrored
// unit-stride input) in explicit AVX2: 8 pixels per step through the same
// rounded steps as Exact (cvt, *scale, -mean, true /std). The target has no
// "fma", so mul and sub cannot be contracted: bit-exact with the scalar path.
template <bool kNorm>
FASTPREP_TARGET_AVX2 void row_u8_f32_avx2(const uint8_t* __restrict__ src, bool mirrored, float* __restrict__ dst,
                                          int64_t n, const Exact<uint8_t, float, kNorm> f) {
  const __m256 scale = _mm256_set1_ps(f.scale), mean = _mm256_set1_ps(f.mean), stdv = _mm256_set1_ps(f.stdv);
  // Reverses the 8 bytes of a mirrored load (src[-i-7 .. -i]) so lane k holds src[-i-k].
  const __m128i rev = _mm_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 8, 9, 10, 11, 12, 13, 14, 15);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i b;
    if (!mirrored) {
      b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i));
    } else {
      b = _mm_shuffle_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src - i - 7)), rev);
    }
    __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
    x = _mm256_mul_ps(x, scale);
    if constexpr (kNorm) {
      x = _mm256_sub_ps(x, mean);
      x = _mm256_div_ps(x, stdv);
    }
    _mm256_storeu_ps(dst + i, x);
  }
  for (; i < n; ++i) {
    dst[i] = f(mirrored ? src[-i] : src[i]);
  }
}

// FASTPREP_CPU_ISA=avx2 keeps these rows off (true division only), =sse2 the AVX2 clone too.
bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("avx512f") && fastprep::detail::cpu_isa_cap() >= 2;
  return has;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12's own avx512fintrin.h trips them (its _mm512_undefined_* self-initialisation).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// On AVX-512 machines (Intel's server cores) the true division bounds the row above (one vdivps per 8 pixels):
// torch.to(float32) alone ran 1.5x faster. A quotient from the reciprocal with one FMA correction (Markstein:
// q0 = x * (1/s), r = x - q0 * s exactly, q = q0 + r * (1/s)) is the correctly rounded x / s in all but rare
// cases, and a uint8 channel has only 256 inputs: fma_division_exact() checks all of them against the true
// division each call, and only a channel that passes takes the 16-wide row below. (8 wide with AVX2 it gained
// ~10% there and lost ~9% on Zen 3, whose divider keeps up: not used.) Intrinsics only, and no scalar float
// arithmetic (the target has "fma": it could be contracted): the tail goes through one padded vector.
// (Functions, not lambdas: a lambda would not inherit the target.)
struct U8F32Consts16 {
  __m512 scale, mean, stdv, rcp;
};

FASTPREP_TARGET_AVX512 inline U8F32Consts16 u8f32_consts16(const Exact<uint8_t, float, true>& f) {
  const __m512 stdv = _mm512_set1_ps(f.stdv);
  return {_mm512_set1_ps(f.scale), _mm512_set1_ps(f.mean), stdv, _mm512_div_ps(_mm512_set1_ps(1.0f), stdv)};
}

// v * scale - mean, each step rounded. GCC and clang implement _mm512_mul_ps as a plain vector multiply,
// which a target with "fma" lets them fuse with the subtraction: the empty asm pins the rounded product.
FASTPREP_TARGET_AVX512 inline __m512 u8f32_centered16(__m512 v, const U8F32Consts16& k) {
  __m512 x = _mm512_mul_ps(v, k.scale);
  asm("" : "+v"(x));
  return _mm512_sub_ps(x, k.mean);
}

// 16 values (0..255 as floats) to 16 quotients by the reciprocal and one correction.
FASTPREP_TARGET_AVX512 inline __m512 u8f32_fma16(__m512 v, const U8F32Consts16& k) {
  const __m512 x = u8f32_centered16(v, k);
  const __m512 q0 = _mm512_mul_ps(x, k.rcp);
  return _mm512_fmadd_ps(_mm512_fnmadd_ps(q0, k.stdv, x), k.rcp, q0);
}

FASTPREP_TARGET_AVX512 inline __m512 u8f32_load16(__m128i b) {
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
}

// Every one of the 256 inputs gives the same bits as the true division (NaN and -0 included: compared as
// integers), through the very function the row uses.
FASTPREP_TARGET_AVX512 bool fma_division_exact(const Exact<uint8_t, float, true>& f) {
  const U8F32Consts16 k = u8f32_consts16(f);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i diff = _mm512_setzero_si512();
  for (int i = 0; i < 256; i += 16) {
    const __m512 v = _mm512_cvtepi32_ps(_mm512_add_epi32(iota, _mm512_set1_epi32(i)));
    const __m512 exact = _mm512_div_ps(u8f32_centered16(v, k), k.stdv);
    diff = _mm512_or_si512(diff, _mm512_xor_si512(_mm512_castps_si512(exact), _mm512_castps_si512(u8f32_fma16(v, k))));
  }
  return _mm512_test_epi32_mask(diff, diff) == 0;
}

FASTPREP_TARGET_AVX512 void row_u8_f32_fma512(const uint8_t* __restrict__ src, bool mirrored,
                                               float* __restrict__ dst, int64_t n,
                                               const Exact<uint8_t, float, true>& f) {
  const U8F32Consts16 k = u8f32_consts16(f);
  const __m128i rev = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i b = mirrored
        ? _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src - i - 15)), rev)
        : _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm512_storeu_ps(dst + i, u8f32_fma16(u8f32_load16(b), k));
  }
  if (i < n) {
    alignas(64) uint8_t in[16] = {0};
    alignas(64) float out[16];
    for (int64_t j = 0; j < n - i; ++j) {
      in[j] = mirrored ? src[-(i + j)] : src[i + j];
    }
    _mm512_store_ps(out, u8f32_fma16(u8f32_load16(_mm_load_si128(reinterpret_cast<const __m128i*>(in))), k));
    for (int64_t j = 0; j < n - i; ++j) {
      dst[i + j] = out[j];
    }
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

template <typename in_t, typename out_t, typename F>
FASTPREP_ALWAYS_INLINE void convert_row(const in_t* __restrict__ src, int64_t ss, out_t* __restrict__ dst, int64_t ds,
                                        int64_t n, const F f) {
  // Unit strides get their own loops so the compiler vectorizes them; f by value
  // so its constants cannot alias dst and stay in registers.
  if (ds == 1) {
    if (ss == 1) {
      for (int64_t i = 0; i < n; ++i) dst[i] = f(src[i]);
    } else if (ss == -1) {
      for (int64_t i = 0; i < n; ++i) dst[i] = f(src[-i]);
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = f(src[i * ss]);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * ds] = f(src[i * ss]);
  }
}

template <typename out_t>
FASTPREP_ALWAYS_INLINE void fill_row(out_t* dst, int64_t ds, int64_t n, out_t v) {
  for (int64_t i = 0; i < n; ++i) dst[i * ds] = v;
}

struct Geometry {
  int64_t N, C, H, W, OH, OW;
  int64_t isn, isc, ish, isw;
  int64_t osn, osc, osh, osw;
};

// Rows [begin, end) of the flattened (n, c, oy) index space.
template <typename in_t, typename out_t, typename F>
struct Rows {
  const Geometry& g;
  const in_t* in;
  out_t* out;
  const F* f;          // per channel
  const out_t* fillv;  // per channel, already transformed
  const Windows& w;
  const int64_t* wins; // [N, 4] or null
  const bool* flips;   // [N, 2] or null
  const bool* fma_ok;  // per channel: row_u8_f32_fma512 is exact for it (see fma_division_exact); or null

  template <bool kAvx2>
  FASTPREP_ALWAYS_INLINE void process(int64_t begin, int64_t end) const {
    // (n, c, oy) of row r, stepped rather than divided out per row: three 64-bit divisions a row cost
    // as much as converting a short row.
    int64_t oy = begin % g.OH, c = (begin / g.OH) % g.C, n = begin / (g.OH * g.C);
    auto step = [&] {
      if (++oy == g.OH) {
        oy = 0;
        if (++c == g.C) {
          c = 0;
          ++n;
        }
      }
    };
    for (int64_t r = begin; r < end; ++r, step()) {
      int64_t top = w.top, left = w.left;
      bool fh = w.flip_h, fv = w.flip_v;
      if (wins != nullptr) {
        top = wins[n * 4];
        left = wins[n * 4 + 1];
        fh = flips[n * 2];
        fv = flips[n * 2 + 1];
      }
      out_t* dst = out + n * g.osn + c * g.osc + oy * g.osh;
      const int64_t iy = top + (fv ? g.OH - 1 - oy : oy);
      if (iy < 0 || iy >= g.H) {
        fill_row(dst, g.osw, g.OW, fillv[c]);
        continue;
      }
      // Output columns [x0, x1) read inside the image; the rest is fill.
      int64_t x0, x1;
      if (!fh) {
        x0 = std::clamp<int64_t>(-left, 0, g.OW);
        x1 = std::clamp<int64_t>(g.W - left, x0, g.OW);
      } else {
        // ix = left + OW - 1 - ox lies in [0, W)  <=>  ox in (left + OW - 1 - W, left + OW - 1]
        x0 = std::clamp<int64_t>(left + g.OW - g.W, 0, g.OW);
        x1 = std::clamp<int64_t>(left + g.OW, x0, g.OW);
      }
      fill_row(dst, g.osw, x0, fillv[c]);
      if (x1 > x0) {
        const int64_t ix0 = fh ? left + g.OW - 1 - x0 : left + x0;
        const in_t* src = in + n * g.isn + c * g.isc + iy * g.ish + ix0 * g.isw;
        const int64_t ss = fh ? -g.isw : g.isw;
#if FASTPREP_AVX2_CLONE
        if constexpr (kAvx2 && IsExactU8F32<F>::value) {
          if (g.osw == 1 && (ss == 1 || ss == -1)) {
            if constexpr (std::is_same_v<F, Exact<uint8_t, float, true>>) {
              if (fma_ok != nullptr && fma_ok[c]) {
                row_u8_f32_fma512(src, ss == -1, dst + x0, x1 - x0, f[c]);
                fill_row(dst + x1 * g.osw, g.osw, g.OW - x1, fillv[c]);
                continue;
              }
            }
            row_u8_f32_avx2(src, ss == -1, dst + x0, x1 - x0, f[c]);
            fill_row(dst + x1 * g.osw, g.osw, g.OW - x1, fillv[c]);
            continue;
          }
        }
#endif
        convert_row(src, ss, dst + x0 * g.osw, g.osw, x1 - x0, f[c]);
      }
      fill_row(dst + x1 * g.osw, g.osw, g.OW - x1, fillv[c]);
    }
  }
};

template <class K>
void process_base(const K& k, int64_t b, int64_t e) {
  k.template process<false>(b, e);
}

#if FASTPREP_AVX2_CLONE
template <class K>
FASTPREP_TARGET_AVX2 void process_avx2(const K& k, int64_t b, int64_t e) {
  k.template process<true>(b, e);
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && fastprep::detail::cpu_isa_cap() >= 1;
  return has;
}
#endif

template <typename in_t, typename out_t, bool kClone, typename F>
void launch(const Plan& p, const Geometry& g, const Windows& w, const std::vector<F>& fs) {
  // c10::SmallVector rather than std::vector: vector<bool> has no data(). (new out_t[g.C] made gcc warn
  // that an int64 count might exceed the largest allocation.)
  c10::SmallVector<out_t, 16> fillv(static_cast<size_t>(g.C));
  for (int64_t c = 0; c < g.C; ++c) {
    // The fill is a value of the input dtype (torchvision pads before converting).
    fillv[c] = fs[c](static_cast<in_t>(p.fill[c]));
  }
  const int64_t* wins = w.per_sample.defined() ? w.per_sample.const_data_ptr<int64_t>() : nullptr;
  const bool* flips = w.flips.defined() ? w.flips.const_data_ptr<bool>() : nullptr;
  c10::SmallVector<bool, 16> fma_ok(static_cast<size_t>(g.C), false);
  bool any_fma = false;
#if FASTPREP_AVX2_CLONE
  if constexpr (std::is_same_v<F, Exact<uint8_t, float, true>>) {
    if (cpu_has_avx512() && g.osw == 1) {
      for (int64_t c = 0; c < g.C; ++c) {
        fma_ok[c] = fma_division_exact(fs[c]);
        any_fma = any_fma || fma_ok[c];
      }
    }
  }
#endif
  Rows<in_t, out_t, F> k{g, p.in.const_data_ptr<in_t>(), p.out.mutable_data_ptr<out_t>(), fs.data(), fillv.data(),
                         w, wins, flips, any_fma ? fma_ok.data() : nullptr};
  const int64_t rows = g.N * g.C * g.OH;
  // About 32K elements per task: small images stay on one thread, big ones split by rows.
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.OW));
  at::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
#if FASTPREP_AVX2_CLONE
    if (kClone && cpu_has_avx2()) {
      process_avx2(k, b, e);
      return;
    }
#endif
    process_base(k, b, e);
  });
}

template <typename in_t, typename out_t>
void run_typed(const Plan& p, const Geometry& g, const Windows& w) {
  if (!p.convert) {
    std::vector<Copy<in_t, out_t>> fs(g.C);
    launch<in_t, out_t, false>(p, g, w, fs); // a plain copy is memory-bound: no AVX2 clone
    return;
  }
  using acc_t = at::opmath_type<out_t>;
  // Constants rounded to the output dtype first, as torch.as_tensor(mean, dtype=image.dtype) does.
  auto rnd = [](double v) { return static_cast<acc_t>(static_cast<out_t>(v)); };
  if (p.fast) {
    std::vector<Fast<in_t, out_t>> fs(g.C);
    for (int64_t c = 0; c < g.C; ++c) {
      const double a = p.scale / p.stdv[c];
      fs[c] = {static_cast<acc_t>(a), static_cast<acc_t>(-p.mean[c] / p.stdv[c])};
    }
    launch<in_t, out_t, true>(p, g, w, fs);
  } else if (p.norm) {
    std::vector<Exact<in_t, out_t, true>> fs(g.C);
    for (int64_t c = 0; c < g.C; ++c) {
      // The 1/255 multiplier is a Python scalar in torchvision: rounded to opmath, not to the dtype.
      fs[c] = {static_cast<acc_t>(p.scale), rnd(p.mean[c]), rnd(p.stdv[c])};
    }
    launch<in_t, out_t, true>(p, g, w, fs);
  } else {
    std::vector<Exact<in_t, out_t, false>> fs(g.C);
    for (int64_t c = 0; c < g.C; ++c) {
      fs[c] = {static_cast<acc_t>(p.scale), acc_t(0), acc_t(1)};
    }
    launch<in_t, out_t, true>(p, g, w, fs);
  }
}

} // namespace

Windows draw_train_window(at::IntArrayRef crop, at::ArrayRef<double> flip_p, at::IntArrayRef flip_horizontal) {
  Windows w;
  w.top = crop[2];
  w.left = crop[3];
  // The helpers torch's own CPU kernels draw a one-element randint (random_from_to_kernel) and rand
  // (uniform_kernel) with, compiled from the installed torch's headers: the same values, the same
  // generator steps, without three tensor allocations and dispatches.
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  auto* g = at::check_generator<at::CPUGeneratorImpl>(gen);
  std::lock_guard<std::mutex> lock(g->mutex_);
  if (crop[0] > 0) {
    w.top += at::uniform_int_from_to_distribution<int64_t>(static_cast<uint64_t>(crop[0] + 1), 0)(g);
  }
  if (crop[1] > 0) {
    w.left += at::uniform_int_from_to_distribution<int64_t>(static_cast<uint64_t>(crop[1] + 1), 0)(g);
  }
  at::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (size_t i = 0; i < flip_p.size(); ++i) {
    if (static_cast<float>(uniform(g)) < static_cast<float>(flip_p[i])) {
      (flip_horizontal[i] != 0 ? w.flip_h : w.flip_v) ^= true;
    }
  }
  return w;
}

void run_cpu(const Plan& p, const Windows& w) {
  if (p.out.numel() == 0) {
    return;
  }
  Geometry g{p.N, p.C, p.H, p.W, p.OH, p.OW, p.is[0], p.is[1], p.is[2], p.is[3],
             p.os[0], p.os[1], p.os[2], p.os[3]};
  if (w.per_sample.defined()) {
    TORCH_CHECK(w.per_sample.device().is_cpu(), "windows must be on the CPU for a CPU input");
    auto acc = w.per_sample.accessor<int64_t, 2>();
    for (int64_t n = 0; n < g.N; ++n) {
      TORCH_CHECK_VALUE(acc[n][2] == g.OH && acc[n][3] == g.OW, "windows[", n, "] has size (", acc[n][2], ", ",
                        acc[n][3], ") but every window must have the output size (", g.OH, ", ", g.OW, ")");
    }
  }
  if (!p.convert) {
    // Data movement only: every dtype torchvision's crop / flip / pad take (16-bit PNGs decode to uint16).
    AT_DISPATCH_V2(p.in.scalar_type(), "fastprep_crop_cpu", AT_WRAP([&] { run_typed<scalar_t, scalar_t>(p, g, w); }),
                   AT_EXPAND(AT_ALL_TYPES), AT_EXPAND(AT_BAREBONES_UNSIGNED_TYPES), AT_EXPAND(AT_COMPLEX_TYPES),
                   at::kHalf, at::kBFloat16, at::kBool);
    return;
  }
  AT_DISPATCH_V2(p.in.scalar_type(), "fastprep_cmn_cpu_in", AT_WRAP([&] {
                   using in_t = scalar_t;
                   AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, p.out.scalar_type(), "fastprep_cmn_cpu_out",
                                                   [&] { run_typed<in_t, scalar_t>(p, g, w); });
                 }),
                 at::kByte, AT_EXPAND(AT_FLOATING_TYPES), at::kHalf, at::kBFloat16);
}

} // namespace detail
} // namespace vision
} // namespace fastprep
