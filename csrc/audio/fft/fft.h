#pragma once
// Our own mixed-radix FFT (Stockham autosort, radix 8/4/2/3/5, a generic
// O(p^2) radix for primes up to 13, Bluestein on the CPU for larger ones). No registry package ships a header-only FFT
// usable here (see docs/audio.md), and the same butterflies must also run
// inside the fused CUDA kernel. Twiddles are computed in double and cast once.

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <utility>
#include <vector>

#if defined(__CUDACC__)
#define FASTPREP_HD __host__ __device__ __forceinline__
#else
#define FASTPREP_HD inline
#endif

namespace fastprep {
namespace audio {
namespace fft {

constexpr int kMaxStages = 32;

// One Stockham pass: radix R over n points, Ns = product of the earlier radices.
struct Stage {
  int radix;
  int ns;
  int tw_offset;    // into twiddles: (j % ns) * (radix - 1) + (r - 1), complex pairs
  int root_offset;  // generic radix only: radix roots e^{-2 pi i t / R}
};

struct PlanDesc {
  int n;          // complex transform size
  int num_stages;
  Stage stages[kMaxStages];
};

// Factors n (largest-friendly radices first) and lays out the twiddle table as
// interleaved (re, im) doubles.
inline PlanDesc make_plan(int n, std::vector<double>& tw) {
  PlanDesc d{};
  d.n = n;
  std::vector<int> radices;
  int m = n;
  // Radix 8 first: fewer passes over shared memory / cache (512 = 8 * 8 * 8).
  while (m % 8 == 0) { radices.push_back(8); m /= 8; }
  while (m % 4 == 0) { radices.push_back(4); m /= 4; }
  while (m % 2 == 0) { radices.push_back(2); m /= 2; }
  for (int p : {3, 5}) {
    while (m % p == 0) { radices.push_back(p); m /= p; }
  }
  for (int p = 7; m > 1 && p * p <= m; p += 2) {
    while (m % p == 0) { radices.push_back(p); m /= p; }
  }
  if (m > 1) radices.push_back(m);
  TORCH_CHECK(static_cast<int>(radices.size()) <= kMaxStages, "fft: too many factors for n=", n);
  const double two_pi = 6.283185307179586476925286766559;
  int ns = 1;
  d.num_stages = 0;
  for (int R : radices) {
    Stage& s = d.stages[d.num_stages++];
    s.radix = R;
    s.ns = ns;
    s.tw_offset = static_cast<int>(tw.size() / 2);
    for (int k = 0; k < ns; ++k) {
      for (int r = 1; r < R; ++r) {
        const double a = -two_pi * static_cast<double>(r) * k / (static_cast<double>(ns) * R);
        tw.push_back(std::cos(a));
        tw.push_back(std::sin(a));
      }
    }
    s.root_offset = -1;
    if (R != 2 && R != 3 && R != 4 && R != 5 && R != 8) {
      s.root_offset = static_cast<int>(tw.size() / 2);
      for (int t = 0; t < R; ++t) {
        const double a = -two_pi * t / R;
        tw.push_back(std::cos(a));
        tw.push_back(std::sin(a));
      }
    }
    ns *= R;
  }
  return d;
}

// In-register radix-R DFT (forward, e^{-2 pi i rq / R}) of a[0..R).
template <int R, typename T>
FASTPREP_HD void butterfly(T* re, T* im) {
  if constexpr (R == 2) {
    const T r0 = re[0], i0 = im[0];
    re[0] = r0 + re[1]; im[0] = i0 + im[1];
    re[1] = r0 - re[1]; im[1] = i0 - im[1];
  } else if constexpr (R == 4) {
    const T t0r = re[0] + re[2], t0i = im[0] + im[2];
    const T t1r = re[0] - re[2], t1i = im[0] - im[2];
    const T t2r = re[1] + re[3], t2i = im[1] + im[3];
    // (a1 - a3) * (-i)
    const T t3r = im[1] - im[3], t3i = re[3] - re[1];
    re[0] = t0r + t2r; im[0] = t0i + t2i;
    re[2] = t0r - t2r; im[2] = t0i - t2i;
    re[1] = t1r + t3r; im[1] = t1i + t3i;
    re[3] = t1r - t3r; im[3] = t1i - t3i;
  } else if constexpr (R == 8) {
    // Two radix-4 DFTs (even / odd inputs) joined with e^{-2 pi i k / 8}.
    T er[4] = {re[0], re[2], re[4], re[6]}, ei[4] = {im[0], im[2], im[4], im[6]};
    T orr[4] = {re[1], re[3], re[5], re[7]}, oi[4] = {im[1], im[3], im[5], im[7]};
    butterfly<4>(er, ei);
    butterfly<4>(orr, oi);
    const T h = T(0.70710678118654752440084436210485);
    // W^1 = h (1 - i), W^2 = -i, W^3 = -h (1 + i)
    const T o1r = h * (orr[1] + oi[1]), o1i = h * (oi[1] - orr[1]);
    const T o2r = oi[2], o2i = -orr[2];
    const T o3r = h * (oi[3] - orr[3]), o3i = -h * (orr[3] + oi[3]);
    re[0] = er[0] + orr[0]; im[0] = ei[0] + oi[0];
    re[4] = er[0] - orr[0]; im[4] = ei[0] - oi[0];
    re[1] = er[1] + o1r; im[1] = ei[1] + o1i;
    re[5] = er[1] - o1r; im[5] = ei[1] - o1i;
    re[2] = er[2] + o2r; im[2] = ei[2] + o2i;
    re[6] = er[2] - o2r; im[6] = ei[2] - o2i;
    re[3] = er[3] + o3r; im[3] = ei[3] + o3i;
    re[7] = er[3] - o3r; im[7] = ei[3] - o3i;
  } else if constexpr (R == 3) {
    const T s = T(0.86602540378443864676372317075294);
    const T tr = re[1] + re[2], ti = im[1] + im[2];
    const T mr = re[0] - T(0.5) * tr, mi = im[0] - T(0.5) * ti;
    // (a1 - a2) * (-i s)
    const T dr = s * (im[1] - im[2]), di = -s * (re[1] - re[2]);
    re[0] = re[0] + tr; im[0] = im[0] + ti;
    re[1] = mr + dr; im[1] = mi + di;
    re[2] = mr - dr; im[2] = mi - di;
  } else if constexpr (R == 5) {
    const T c1 = T(0.30901699437494742410229341718282), c2 = T(-0.80901699437494742410229341718282);
    const T s1 = T(0.95105651629515357211643933337938), s2 = T(0.58778525229247312916870595463907);
    const T b1r = re[1] + re[4], b1i = im[1] + im[4], d1r = re[1] - re[4], d1i = im[1] - im[4];
    const T b2r = re[2] + re[3], b2i = im[2] + im[3], d2r = re[2] - re[3], d2i = im[2] - im[3];
    const T a0r = re[0], a0i = im[0];
    const T p1r = a0r + c1 * b1r + c2 * b2r, p1i = a0i + c1 * b1i + c2 * b2i;
    const T p2r = a0r + c2 * b1r + c1 * b2r, p2i = a0i + c2 * b1i + c1 * b2i;
    // -i * (s1 d1 + s2 d2) and -i * (s2 d1 - s1 d2)
    const T q1r = s1 * d1i + s2 * d2i, q1i = -(s1 * d1r + s2 * d2r);
    const T q2r = s2 * d1i - s1 * d2i, q2i = -(s2 * d1r - s1 * d2r);
    re[0] = a0r + b1r + b2r; im[0] = a0i + b1i + b2i;
    re[1] = p1r + q1r; im[1] = p1i + q1i;
    re[4] = p1r - q1r; im[4] = p1i - q1i;
    re[2] = p2r + q2r; im[2] = p2i + q2i;
    re[3] = p2r - q2r; im[3] = p2i - q2i;
  }
}

// Generic radix: plain DFT with the stage's root table (rare sizes only).
template <typename T>
FASTPREP_HD void butterfly_generic(int R, const T* in_re, const T* in_im, T* out_re, T* out_im, const T* roots) {
  for (int q = 0; q < R; ++q) {
    T sr = 0, si = 0;
    int t = 0;
    for (int r = 0; r < R; ++r) {
      const T wr = roots[2 * t], wi = roots[2 * t + 1];
      sr += in_re[r] * wr - in_im[r] * wi;
      si += in_re[r] * wi + in_im[r] * wr;
      t += q;
      if (t >= R) t -= R;
    }
    out_re[q] = sr;
    out_im[q] = si;
  }
}

// Largest prime factor the generic O(R^2) radix handles; an n with a larger
// one goes through Bluestein instead (O(n log n), like pocketfft does).
constexpr int kMaxGenericRadix = 13;

inline int largest_prime_factor(int n) {
  int largest = 1;
  for (int p = 2; p * p <= n; ++p) {
    while (n % p == 0) { largest = p; n /= p; }
  }
  return n > 1 ? n : largest;
}

// Smallest 2^a 3^b 5^c >= n: sizes the fast radices handle.
inline int smooth_size_at_least(int n) {
  for (int m = std::max(n, 1);; ++m) {
    int r = m;
    for (int p : {2, 3, 5}) {
      while (r % p == 0) r /= p;
    }
    if (r == 1) return m;
  }
}

template <typename T>
struct HostPlan;

// Bluestein: the n-point DFT as a circular convolution of size m >= 2n - 1,
// X_k = w_k sum_j (x_j w_j) conj(w_{k-j}) with the chirp w_t = e^{-i pi t^2 / n}.
template <typename T>
struct Bluestein {
  std::shared_ptr<const HostPlan<T>> inner;  // size m
  std::vector<T> chirp;   // w_k, k < n, (re, im) pairs
  std::vector<T> filter;  // FFT_m of conj(w) wrapped circularly, times 1/m, (re, im) pairs
};

// Host plan: descriptor + twiddles in the working precision, cached per (n, T).
template <typename T>
struct HostPlan {
  PlanDesc desc;
  std::vector<T> tw;        // stage twiddles and generic roots, (re, im) pairs
  std::vector<T> real_tw;   // e^{-2 pi i k / (2n)}, k in [0, n]: half-size real FFT post-pass
  int max_radix = 1;        // scratch for the generic radix: 4 * max_radix values
  int work_n = 0;           // points per lane the (re, im, wre, wim) buffers must hold
  std::shared_ptr<const Bluestein<T>> bluestein;  // set when n has a prime factor > kMaxGenericRadix
};

template <typename T>
std::shared_ptr<const HostPlan<T>> host_plan(int n);

template <int L, typename T>
inline void stockham_fft(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch);

template <typename T>
std::shared_ptr<const Bluestein<T>> make_bluestein(int n) {
  auto b = std::make_shared<Bluestein<T>>();
  const int m = smooth_size_at_least(2 * n - 1);
  b->inner = host_plan<T>(m);
  const double pi = 3.14159265358979323846264338327950;
  // k^2 mod 2n keeps the chirp's angle exact for large k.
  std::vector<double> wr(n), wi(n);
  for (int64_t k = 0; k < n; ++k) {
    const double a = -pi * static_cast<double>((k * k) % (2 * static_cast<int64_t>(n))) / n;
    wr[k] = std::cos(a);
    wi[k] = std::sin(a);
    b->chirp.push_back(static_cast<T>(wr[k]));
    b->chirp.push_back(static_cast<T>(wi[k]));
  }
  // The filter's spectrum is computed once in double, whatever T is.
  const auto dplan = host_plan<double>(m);
  std::vector<double> fr(m, 0.0), fi(m, 0.0), tr(m), ti(m), scratch(4 * dplan->max_radix);
  for (int k = 0; k < n; ++k) {
    fr[k] = wr[k];
    fi[k] = -wi[k];
    if (k > 0) {
      fr[m - k] = wr[k];
      fi[m - k] = -wi[k];
    }
  }
  stockham_fft<1>(*dplan, fr.data(), fi.data(), tr.data(), ti.data(), scratch.data());
  for (int k = 0; k < m; ++k) {
    b->filter.push_back(static_cast<T>(fr[k] / m));
    b->filter.push_back(static_cast<T>(fi[k] / m));
  }
  return b;
}

template <typename T>
std::shared_ptr<const HostPlan<T>> host_plan(int n) {
  static std::mutex mu;
  static std::map<int, std::shared_ptr<const HostPlan<T>>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
  }
  // Built outside the lock: a Bluestein plan asks for its inner plan.
  auto p = std::make_shared<HostPlan<T>>();
  std::vector<double> tw;
  p->desc = make_plan(n, tw);
  p->tw.assign(tw.begin(), tw.end());
  const double two_pi = 6.283185307179586476925286766559;
  for (int k = 0; k <= n; ++k) {
    const double a = -two_pi * k / (2.0 * n);
    p->real_tw.push_back(static_cast<T>(std::cos(a)));
    p->real_tw.push_back(static_cast<T>(std::sin(a)));
  }
  p->work_n = n;
  if (largest_prime_factor(n) > kMaxGenericRadix) {
    p->bluestein = make_bluestein<T>(n);
    p->work_n = p->bluestein->inner->desc.n;
    p->max_radix = p->bluestein->inner->max_radix;
  } else {
    for (int s = 0; s < p->desc.num_stages; ++s) p->max_radix = std::max(p->max_radix, p->desc.stages[s].radix);
  }
  std::lock_guard<std::mutex> lock(mu);
  return cache.emplace(n, p).first->second;
}

#if !defined(__CUDACC__)
// L values of T (one 32-byte vector for the CPU's 8 floats / 4 doubles) with
// the scalar operators, so the butterflies above run on whole lane groups. GCC
// left the lane loops of the radix-3/5 passes (and others, depending on
// inlining) scalar; this spells the vectors out. Same operations in the same
// order as the scalar code, so the same bits.
template <typename T, int L>
struct Lanes {
  typedef T V __attribute__((vector_size(sizeof(T) * L)));
  V v;
  Lanes() = default;
  Lanes(T s) {  // broadcast (butterfly constants)
    for (int l = 0; l < L; ++l) v[l] = s;
  }
  // Not a constructor: GCC does not tell V from T in overloads.
  static inline Lanes of(V x) {
    Lanes r;
    r.v = x;
    return r;
  }
  static inline Lanes load(const T* p) {
    Lanes r;
    __builtin_memcpy(&r.v, p, sizeof(V));
    return r;
  }
  inline void store(T* p) const { __builtin_memcpy(p, &v, sizeof(V)); }
  friend inline Lanes operator+(Lanes a, Lanes b) { return of(a.v + b.v); }
  friend inline Lanes operator-(Lanes a, Lanes b) { return of(a.v - b.v); }
  friend inline Lanes operator*(Lanes a, Lanes b) { return of(a.v * b.v); }
  friend inline Lanes operator-(Lanes a) { return of(-a.v); }
};

// One pass on whole lane groups: L * sizeof(T) == 32.
template <int R, int L, typename T>
inline void cpu_stage_lanes(const Stage& s, int n, const T* tw, const T* __restrict xr, const T* __restrict xi,
                            T* __restrict yr, T* __restrict yi) {
  using P = Lanes<T, L>;
  const int stride = n / R;
  const int ns = s.ns;
  // j = b * ns + k: ns divides stride, so no division per point.
  for (int b = 0; b < stride / ns; ++b) {
    for (int k = 0; k < ns; ++k) {
      const int j = b * ns + k;
      const int out_base = b * ns * R + k;
      P ar[R], ai[R];
      ar[0] = P::load(xr + j * L);
      ai[0] = P::load(xi + j * L);
      if (ns == 1) {  // first pass: k == 0, every twiddle is 1
        for (int r = 1; r < R; ++r) {
          ar[r] = P::load(xr + (j + r * stride) * L);
          ai[r] = P::load(xi + (j + r * stride) * L);
        }
      } else {
        const T* w = tw + 2 * (s.tw_offset + k * (R - 1));
        for (int r = 1; r < R; ++r) {
          const P br = P::load(xr + (j + r * stride) * L), bi = P::load(xi + (j + r * stride) * L);
          const P wr(w[2 * (r - 1)]), wi(w[2 * (r - 1) + 1]);
          ar[r] = br * wr - bi * wi;
          ai[r] = br * wi + bi * wr;
        }
      }
      butterfly<R>(ar, ai);
      for (int r = 0; r < R; ++r) {
        ar[r].store(yr + (out_base + r * ns) * L);
        ai[r].store(yi + (out_base + r * ns) * L);
      }
    }
  }
}
#endif

// Runs one Stockham stage over L interleaved transforms (layout [point][lane]),
// reading (xr, xi) and writing (yr, yi). The lane loop is what vectorizes.
template <int R, int L, typename T>
inline void cpu_stage(const Stage& s, int n, const T* tw, const T* __restrict xr, const T* __restrict xi,
                      T* __restrict yr, T* __restrict yi) {
#if !defined(__CUDACC__)
  if constexpr (L * sizeof(T) == 32) {
    cpu_stage_lanes<R, L>(s, n, tw, xr, xi, yr, yi);
    return;
  }
#endif
  const int stride = n / R;
  const int ns = s.ns;
  for (int j = 0; j < stride; ++j) {
    const int k = j % ns;
    const T* w = tw + 2 * (s.tw_offset + k * (R - 1));
    const int out_base = (j / ns) * ns * R + k;
    T wr[R], wi[R];
    for (int r = 1; r < R; ++r) { wr[r] = w[2 * (r - 1)]; wi[r] = w[2 * (r - 1) + 1]; }
    if (ns == 1) {  // first pass: k == 0, every twiddle is 1
#pragma GCC ivdep
      for (int l = 0; l < L; ++l) {
        T ar[R], ai[R];
        for (int r = 0; r < R; ++r) {
          ar[r] = xr[(j + r * stride) * L + l];
          ai[r] = xi[(j + r * stride) * L + l];
        }
        butterfly<R>(ar, ai);
        for (int r = 0; r < R; ++r) {
          yr[(out_base + r * ns) * L + l] = ar[r];
          yi[(out_base + r * ns) * L + l] = ai[r];
        }
      }
      continue;
    }
#pragma GCC ivdep
    for (int l = 0; l < L; ++l) {
      T ar[R], ai[R];
      ar[0] = xr[j * L + l];
      ai[0] = xi[j * L + l];
      for (int r = 1; r < R; ++r) {
        const T br = xr[(j + r * stride) * L + l], bi = xi[(j + r * stride) * L + l];
        ar[r] = br * wr[r] - bi * wi[r];
        ai[r] = br * wi[r] + bi * wr[r];
      }
      butterfly<R>(ar, ai);
      for (int r = 0; r < R; ++r) {
        yr[(out_base + r * ns) * L + l] = ar[r];
        yi[(out_base + r * ns) * L + l] = ai[r];
      }
    }
  }
}

template <int L, typename T>
inline void cpu_stage_generic(const Stage& s, int n, const T* tw, const T* xr, const T* xi, T* yr, T* yi,
                              T* scratch /* 4 * R */) {
  const int R = s.radix;
  const int stride = n / R;
  const int ns = s.ns;
  const T* roots = tw + 2 * s.root_offset;
  T* ar = scratch;
  T* ai = scratch + R;
  T* br = scratch + 2 * R;
  T* bi = scratch + 3 * R;
  for (int j = 0; j < stride; ++j) {
    const int k = j % ns;
    const T* w = tw + 2 * (s.tw_offset + k * (R - 1));
    const int out_base = (j / ns) * ns * R + k;
    for (int l = 0; l < L; ++l) {
      ar[0] = xr[j * L + l];
      ai[0] = xi[j * L + l];
      for (int r = 1; r < R; ++r) {
        const T cr = xr[(j + r * stride) * L + l], ci = xi[(j + r * stride) * L + l];
        const T wr = w[2 * (r - 1)], wi = w[2 * (r - 1) + 1];
        ar[r] = cr * wr - ci * wi;
        ai[r] = cr * wi + ci * wr;
      }
      butterfly_generic(R, ar, ai, br, bi, roots);
      for (int r = 0; r < R; ++r) {
        yr[(out_base + r * ns) * L + l] = br[r];
        yi[(out_base + r * ns) * L + l] = bi[r];
      }
    }
  }
}

// The Stockham passes of p.desc (never a Bluestein plan) on (re, im),
// ping-ponging through (wre, wim); returns the pair that holds the result.
template <int L, typename T>
inline std::pair<T*, T*> stockham_fft_any(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch) {
  const PlanDesc& d = p.desc;
  const T* tw = p.tw.data();
  T *xr = re, *xi = im, *yr = wre, *yi = wim;
  for (int s = 0; s < d.num_stages; ++s) {
    const Stage& st = d.stages[s];
    switch (st.radix) {
      case 2: cpu_stage<2, L>(st, d.n, tw, xr, xi, yr, yi); break;
      case 3: cpu_stage<3, L>(st, d.n, tw, xr, xi, yr, yi); break;
      case 4: cpu_stage<4, L>(st, d.n, tw, xr, xi, yr, yi); break;
      case 5: cpu_stage<5, L>(st, d.n, tw, xr, xi, yr, yi); break;
      case 8: cpu_stage<8, L>(st, d.n, tw, xr, xi, yr, yi); break;
      default: cpu_stage_generic<L>(st, d.n, tw, xr, xi, yr, yi, scratch); break;
    }
    std::swap(xr, yr);
    std::swap(xi, yi);
  }
  return {xr, xi};
}

// stockham_fft_any with the result always in (re, im).
template <int L, typename T>
inline void stockham_fft(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch) {
  const auto [xr, xi] = stockham_fft_any<L>(p, re, im, wre, wim, scratch);
  if (xr != re) {
    for (int i = 0; i < p.desc.n * L; ++i) { re[i] = xr[i]; im[i] = xi[i]; }
  }
}

// (re, im)[k] *= chirp[k] for the first n points of L lanes; CONJ conjugates
// the input first.
template <int L, bool CONJ, typename T>
inline void chirp_multiply(const T* w, int n, T* re, T* im) {
  for (int k = 0; k < n; ++k) {
    const T cr = w[2 * k], ci = w[2 * k + 1];
#pragma GCC ivdep
    for (int l = 0; l < L; ++l) {
      const T xr = re[k * L + l], xi = CONJ ? -im[k * L + l] : im[k * L + l];
      re[k * L + l] = xr * cr - xi * ci;
      im[k * L + l] = xr * ci + xi * cr;
    }
  }
}

template <int L, typename T>
inline void bluestein_fft(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch) {
  const Bluestein<T>& b = *p.bluestein;
  const int n = p.desc.n;
  const int m = b.inner->desc.n;
  const T* w = b.chirp.data();
  const T* f = b.filter.data();
  chirp_multiply<L, false>(w, n, re, im);
  std::fill(re + static_cast<int64_t>(n) * L, re + static_cast<int64_t>(m) * L, T(0));
  std::fill(im + static_cast<int64_t>(n) * L, im + static_cast<int64_t>(m) * L, T(0));
  stockham_fft<L>(*b.inner, re, im, wre, wim, scratch);
  // Times the filter, conjugated: the inverse FFT is conj(FFT(conj(.))) (1/m is in the filter).
  for (int k = 0; k < m; ++k) {
    const T fr = f[2 * k], fi = f[2 * k + 1];
#pragma GCC ivdep
    for (int l = 0; l < L; ++l) {
      const T ar = re[k * L + l], ai = im[k * L + l];
      re[k * L + l] = ar * fr - ai * fi;
      im[k * L + l] = -(ar * fi + ai * fr);
    }
  }
  stockham_fft<L>(*b.inner, re, im, wre, wim, scratch);
  // Conjugated back (the inverse-FFT trick above), then times the chirp.
  chirp_multiply<L, true>(w, n, re, im);
}

// Forward complex FFT of L interleaved transforms, in (re, im) -> result in
// (re, im); the buffers hold p.work_n points per lane, scratch 4 * p.max_radix.
template <int L, typename T>
inline void cpu_fft(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch) {
  if (p.bluestein) {
    bluestein_fft<L>(p, re, im, wre, wim, scratch);
  } else {
    stockham_fft<L>(p, re, im, wre, wim, scratch);
  }
}

// cpu_fft without the final copy: the result is in whichever of (re, im) or
// (wre, wim) the last pass wrote (an odd pass count ends in the work pair).
template <int L, typename T>
inline std::pair<T*, T*> cpu_fft_any(const HostPlan<T>& p, T* re, T* im, T* wre, T* wim, T* scratch) {
  if (p.bluestein) {
    bluestein_fft<L>(p, re, im, wre, wim, scratch);
    return {re, im};
  }
  return stockham_fft_any<L>(p, re, im, wre, wim, scratch);
}

} // namespace fft
} // namespace audio
} // namespace fastprep
