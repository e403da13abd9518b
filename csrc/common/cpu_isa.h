#pragma once
// FASTPREP_CPU_ISA caps the explicit SIMD paths the CPU kernels choose at run time, so the tests can run each
// path on one machine and compare: "sse2" (no AVX2 clones), "avx2" (no AVX-512 rows); unset, the CPU decides.
// Read once per process (an inline function's static is one object across translation units).

#include <cstdlib>
#include <cstring>

namespace fastprep {
namespace detail {

// 0 "sse2", 1 "avx2", 2 unset (or any other value).
inline int cpu_isa_cap() {
  static const int cap = [] {
    const char* e = std::getenv("FASTPREP_CPU_ISA");
    if (e != nullptr && std::strcmp(e, "sse2") == 0) {
      return 0;
    }
    if (e != nullptr && std::strcmp(e, "avx2") == 0) {
      return 1;
    }
    return 2;
  }();
  return cap;
}

} // namespace detail
} // namespace fastprep
