#pragma once
// UTF-8 of a Python str's code units (CPython's 1-, 2- or 4-byte "kinds"), for the eager entries that read str
// in place (python_fastpath.cpp). The CPU picks an AVX-512 path at run time where it has one: on mixed-script
// text the scalar loop's branch per character cost as much as tokenizing the line.

#include <cstdint>

namespace fastprep {
namespace text {
namespace detail {

// Most bytes n code units of `kind` can take in UTF-8 (a kind-2 str holds no astral character).
inline int64_t utf8_capacity(int kind, int64_t n) {
  return n * (kind == 1 ? 2 : kind == 2 ? 3 : 4);
}

// Writes the UTF-8 of n code units of `kind` (1, 2 or 4) to out, which has room for utf8_capacity(kind, n)
// bytes, or exactly the result's bytes. Returns the number of bytes, or -1 when a unit is a lone surrogate (no
// UTF-8 form; what was written by then is unspecified).
int64_t encode_code_units(const void* units, int kind, int64_t n, uint8_t* out);

} // namespace detail
} // namespace text
} // namespace fastprep
