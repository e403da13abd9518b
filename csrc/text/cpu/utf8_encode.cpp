#include "text/cpu/utf8_encode.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common/cpu_isa.h"
#include "text/text_core.h"

namespace fastprep {
namespace text {
namespace detail {
namespace {

template <class Unit>
int64_t encode_scalar(const Unit* s, int64_t n, uint8_t* out) {
  uint8_t* const start = out;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t c = s[i];
    if (c < 0x80) {
      *out++ = static_cast<uint8_t>(c);
    } else if (c - 0xD800u < 0x800u) {
      return -1;
    } else {
      out += encode_utf8(c, out);
    }
  }
  return out - start;
}

#if defined(__x86_64__)
#define FASTPREP_TARGET_VBMI2 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")))

// 16 code units (the first `m` of them; the rest read as 0), zero-extended to 32-bit lanes.
template <class Unit>
FASTPREP_TARGET_VBMI2 inline __m512i load16(const Unit* s, __mmask16 lanes) {
  if constexpr (sizeof(Unit) == 1) {
    return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(lanes, s));
  } else if constexpr (sizeof(Unit) == 2) {
    return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes, s));
  } else {
    return _mm512_maskz_loadu_epi32(lanes, s);
  }
}

// Each lane's UTF-8 is built in place in its 32-bit lane (first byte lowest), then vpcompressb packs the lanes'
// valid bytes together: 16 characters per step, no branch per character. Masked loads and stores keep every
// access inside the units and the result.
template <class Unit>
FASTPREP_TARGET_VBMI2 int64_t encode_avx512(const Unit* s, int64_t n, uint8_t* out) {
  const __m512i k3f = _mm512_set1_epi32(0x3F);
  const __m512i k80 = _mm512_set1_epi32(0x80);
  const __m512i k800 = _mm512_set1_epi32(0x800);
  const __m512i k10000 = _mm512_set1_epi32(0x10000);
  const __m512i surrogate_bits = _mm512_set1_epi32(0xFFFFF800);
  const __m512i surrogate_base = _mm512_set1_epi32(0xD800);
  __mmask16 surrogates = 0;
  int64_t written = 0;
  for (int64_t i = 0; i < n; i += 16) {
    const int64_t m = n - i < 16 ? n - i : 16;
    const __mmask16 lanes = static_cast<__mmask16>(m == 16 ? 0xFFFFu : (1u << m) - 1u);
    const __m512i c = load16(s + i, lanes);
    const __mmask16 two = _mm512_cmpge_epu32_mask(c, k80);
    const __mmask16 three = _mm512_cmpge_epu32_mask(c, k800);
    const __mmask16 four = _mm512_cmpge_epu32_mask(c, k10000);
    surrogates |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(c, surrogate_bits), surrogate_base);
    // Continuation bytes 0x80 | 6 bits, lowest bits last.
    const __m512i b0 = _mm512_or_si512(_mm512_and_si512(c, k3f), k80);
    const __m512i b1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(c, 6), k3f), k80);
    const __m512i b2 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(c, 12), k3f), k80);
    const __m512i w2 = _mm512_or_si512(_mm512_or_si512(_mm512_srli_epi32(c, 6), _mm512_set1_epi32(0xC0)),
                                       _mm512_slli_epi32(b0, 8));
    const __m512i w3 = _mm512_or_si512(
        _mm512_or_si512(_mm512_srli_epi32(c, 12), _mm512_set1_epi32(0xE0)),
        _mm512_or_si512(_mm512_slli_epi32(b1, 8), _mm512_slli_epi32(b0, 16)));
    const __m512i w4 = _mm512_or_si512(
        _mm512_or_si512(_mm512_srli_epi32(c, 18), _mm512_set1_epi32(0xF0)),
        _mm512_or_si512(_mm512_slli_epi32(b2, 8), _mm512_or_si512(_mm512_slli_epi32(b1, 16), _mm512_slli_epi32(b0, 24))));
    __m512i w = _mm512_mask_mov_epi32(c, two, w2);
    w = _mm512_mask_mov_epi32(w, three, w3);
    w = _mm512_mask_mov_epi32(w, four, w4);
    // Valid bytes per lane: 0xFF, 0xFFFF, 0xFFFFFF or 0xFFFFFFFF; none past the units.
    __m512i valid = _mm512_maskz_mov_epi32(lanes, _mm512_set1_epi32(0xFF));
    valid = _mm512_mask_mov_epi32(valid, two, _mm512_set1_epi32(0xFFFF));
    valid = _mm512_mask_mov_epi32(valid, three, _mm512_set1_epi32(0xFFFFFF));
    valid = _mm512_mask_mov_epi32(valid, four, _mm512_set1_epi32(-1));
    const __mmask64 bytes = _mm512_movepi8_mask(valid);
    const int count = _mm_popcnt_u64(bytes);
    const __mmask64 store = count == 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
    _mm512_mask_storeu_epi8(out + written, store, _mm512_maskz_compress_epi8(bytes, w));
    written += count;
  }
  return (surrogates & 0xFFFFu) != 0 ? -1 : written;
}

bool has_avx512_vbmi2() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi2") &&
                          fastprep::detail::cpu_isa_cap() >= 2;
  return has;
}
#endif

template <class Unit>
int64_t encode(const Unit* s, int64_t n, uint8_t* out) {
#if defined(__x86_64__)
  if (has_avx512_vbmi2()) {
    return encode_avx512(s, n, out);
  }
#endif
  return encode_scalar(s, n, out);
}

} // namespace

int64_t encode_code_units(const void* units, int kind, int64_t n, uint8_t* out) {
  switch (kind) {
    case 1:
      return encode(static_cast<const uint8_t*>(units), n, out);
    case 2:
      return encode(static_cast<const uint16_t*>(units), n, out);
    default:
      return encode(static_cast<const uint32_t*>(units), n, out);
  }
}

} // namespace detail
} // namespace text
} // namespace fastprep
