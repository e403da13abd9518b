#pragma once
// torchtext's basic_english (lowercase, then its regex list, then str.split()) as one pass over a line's
// UTF-8, with Python's lowercasing (final sigma included) and Python's whitespace; and the batch path
// straight to vocab ids. Shared by the registered ops and the eager CPython entry (python_fastpath.cpp),
// which differ only in where each line's bytes come from.

#include <ATen/ATen.h>
#include <c10/macros/Macros.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "text/cpu/parallel_chunks.h"
#include "text/text_core.h"
#include "text/unicode/tables.h"
#include "text/vocab.h"

// On a lambda (C10_ALWAYS_INLINE_ATTRIBUTE's header moved between torch releases).
#if defined(__GNUC__)
#define FASTPREP_INLINE_LAMBDA __attribute__((always_inline))
#else
#define FASTPREP_INLINE_LAMBDA
#endif

namespace fastprep {
namespace text {
namespace detail {

// The token being built on the UTF-8 path: a slice of the line itself while its characters are kept as they
// are (most tokens: lowercase or caseless text, no copy), copied into `cur` from the first changed character.
template <class Emit>
struct SliceOrCopy {
  std::string& cur;
  Emit& emit;
  const char* run = nullptr;
  size_t run_len = 0;
  SliceOrCopy(std::string& c, Emit& e) : cur(c), emit(e) { cur.clear(); }
  // Bytes of the line kept as they are. Always inlined: it runs once per character run.
  C10_ALWAYS_INLINE void keep(const char* p, size_t n) {
    if (run != nullptr && run + run_len == p) {
      run_len += n;
    } else if (run == nullptr && cur.empty()) {
      run = p;
      run_len = n;
    } else {
      append(p, n); // after a dropped '"' or a changed character
    }
  }
  // Bytes that are not the line's own (a lowercased character).
  void append(const char* p, size_t n) {
    if (run != nullptr) {
      cur.assign(run, run_len);
      run = nullptr;
      run_len = 0;
    }
    cur.append(p, n);
  }
  void flush() {
    if (run != nullptr) {
      emit(run, run_len);
      run = nullptr;
      run_len = 0;
    } else if (!cur.empty()) {
      emit(cur.data(), cur.size());
      cur.clear();
    }
  }
  void single(char c) {
    flush();
    emit(&c, 1);
  }
};

// Scratch buffers one thread reuses across lines: the token being built, and the line's UTF-8 when its source
// has to encode it (a Python str that has none cached).
struct LineScratch {
  std::string cur;
  std::string text;
};

constexpr uint32_t kCapitalSigma = 0x03A3;

// What the rule does with one lowercased character: the regex list's special characters, then str.split()'s
// whitespace; everything else is part of a token. The one classification both the UTF-8 and code-point paths use.
enum class CharClass : uint8_t { kKeep, kIsolate, kSplit, kDrop, kSpace };

inline CharClass classify_ascii(uint32_t c) {
  switch (c) {
    case '\'':
    case '.':
    case ',':
    case '(':
    case ')':
    case '!':
    case '?':
      return CharClass::kIsolate;
    case ';':
    case ':':
      return CharClass::kSplit;
    case '"':
      return CharClass::kDrop;
    default:
      break;
  }
  // str.isspace() on ASCII: \t \n \v \f \r, FS GS RS US and space.
  return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f) ? CharClass::kSpace : CharClass::kKeep;
}

inline CharClass classify(uint32_t c, const UnicodeView& u) {
  if (c < 0x80) {
    return classify_ascii(c);
  }
  return (u.record(c)[0] & kFlagPySpace) != 0 ? CharClass::kSpace : CharClass::kKeep;
}

// CPython's final-sigma rule for the U+03A3 at bytes [at, after) of a line: lowercased to U+03C2 when the
// nearest preceding character that is not case-ignorable is cased and the nearest following one is not (or
// there is none); else U+03C3. Walks the line's bytes backwards: a valid sequence ending at a character boundary
// is the one the forward decoding produced there (a lead byte is never inside another sequence); when there is
// none, the byte before the boundary was decoded alone as U+FFFD, which is neither cased nor case-ignorable.
inline bool final_sigma_at(const uint8_t* s, int64_t n, int64_t at, int64_t after, const UnicodeView& u) {
  auto flags = [&](uint32_t c) { return u.record(c)[0]; };
  for (int64_t j = at;;) {
    if (j == 0) {
      return false;
    }
    int64_t k = j - 1;
    while (k > 0 && k > j - 4 && (s[k] & 0xC0) == 0x80) {
      --k;
    }
    int64_t end = k;
    const uint32_t c = next_code_point(s, n, &end);
    if (end != j) {
      return false; // s[j - 1] was a lone U+FFFD
    }
    if (flags(c) & kFlagCaseIgnorable) {
      j = k;
      continue;
    }
    if (!(flags(c) & kFlagCased)) {
      return false;
    }
    break;
  }
  for (int64_t j = after; j < n;) {
    const uint32_t c = next_code_point(s, n, &j);
    if (!(flags(c) & kFlagCaseIgnorable)) {
      return !(flags(c) & kFlagCased);
    }
  }
  return true;
}

enum AsciiClass : uint8_t { kWord = 0, kSpace = 1, kIsolate = 2, kSplit = 3 };

struct AsciiTables {
  uint8_t lower[128];
  uint8_t cls[128];
  // Bytes a token takes as they are (ASCII, not uppercase, '"' or '<'): the UTF-8 path slices runs of them.
  uint8_t plain[256];
  AsciiTables() {
    for (int c = 0; c < 128; ++c) {
      lower[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      switch (classify_ascii(static_cast<uint32_t>(c))) {
        case CharClass::kSpace:
          cls[c] = kSpace;
          break;
        case CharClass::kIsolate:
          cls[c] = kIsolate;
          break;
        case CharClass::kSplit:
          cls[c] = kSplit;
          break;
        default: // kKeep, and kDrop ('"'), which both ASCII paths delete before they classify
          cls[c] = kWord;
      }
      plain[c] = cls[c] == kWord && lower[c] == c && c != '"' && c != '<';
    }
    std::fill(plain + 128, plain + 256, uint8_t{0});
  }
};

inline const AsciiTables& ascii_tables() {
  static const AsciiTables t;
  return t;
}

// Eight bytes at a time: is the line ASCII (no byte with its top bit set), and does it hold a '"'
// (a zero byte in w ^ 0x22..22; the test is exact as a yes/no)? One vectorizable pass for both.
struct AsciiScan {
  bool ascii;
  bool quote;
};
inline AsciiScan scan_ascii(const char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  size_t i = 0;
  uint64_t acc = 0, quote = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
    const uint64_t x = w ^ (kOnes * '"');
    quote |= (x - kOnes) & ~x & kHigh;
  }
  for (; i < n; ++i) {
    acc |= static_cast<uint8_t>(p[i]);
    quote |= p[i] == '"';
  }
  return {(acc & kHigh) == 0, quote != 0};
}

// Bit k set when byte k of p[0, n) (lowercased ASCII, n <= 16) ends a token: whitespace, one of the rule's
// special characters, or '<' (a "<br />" candidate). The portable form; the SSE2 one below gives the same bits.
inline uint32_t boundary_bits(const uint8_t* p, size_t n) {
  const AsciiTables& t = ascii_tables();
  uint32_t bits = 0;
  for (size_t k = 0; k < n; ++k) {
    bits |= static_cast<uint32_t>(t.cls[p[k]] != kWord || p[k] == '<') << k;
  }
  return bits;
}

#if defined(__SSE2__)
// The same bits for 16 bytes in a dozen instructions: the boundary bytes form the ranges \t..\r, FS..'!',
// '\''..')', ':'..'<' and the singles ',', '.', '?'. (Signed compares are right here: the bytes are ASCII.)
inline uint32_t boundary_bits16(const uint8_t* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  auto in = [&](char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  auto eq = [&](char c) { return _mm_cmpeq_epi8(x, _mm_set1_epi8(c)); };
  const __m128i m = _mm_or_si128(_mm_or_si128(_mm_or_si128(in('\t', '\r'), in(0x1c, '!')),
                                              _mm_or_si128(in('\'', ')'), in(':', '<'))),
                                 _mm_or_si128(_mm_or_si128(eq(','), eq('.')), eq('?')));
  return static_cast<uint32_t>(_mm_movemask_epi8(m));
}
#else
inline uint32_t boundary_bits16(const uint8_t* p) {
  return boundary_bits(p, 16);
}
#endif

// ASCII-only lines (most English text): lowercase into `low` (dropping '"' where the line has one), then walk
// the token boundaries 16 bytes at a time, so every token is a range of `low` and the per-byte work is a few
// vector instructions instead of a branch (a mispredicted one at every token end). Returns false, having
// emitted nothing, when the line has a non-ASCII byte.
template <class Emit>
bool basic_english_ascii(const char* line, size_t n, std::string& low, Emit&& emit) {
  const AsciiTables& t = ascii_tables();
  const AsciiScan scan = scan_ascii(line, n);
  if (!scan.ascii) {
    return false;
  }
  if (low.size() < n) {
    low.resize(std::max(n, 2 * low.size()));
  }
  auto* q = reinterpret_cast<uint8_t*>(&low[0]);
  size_t m = n;
  if (scan.quote) {
    m = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<uint8_t>(line[i]);
      // Branch-free '"' deletion: write always, advance unless it was a quote.
      q[m] = t.lower[c];
      m += c != '"';
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<uint8_t>(line[i]);
      q[i] = static_cast<uint8_t>(c + (static_cast<uint8_t>(c - 'A') < 26 ? 32 : 0)); // vectorizes
    }
  }
  const char* p = reinterpret_cast<const char*>(q);
  size_t start = 0; // of the current token
  for (size_t base = 0; base < m; base += 16) {
    uint32_t bits = m - base >= 16 ? boundary_bits16(q + base) : boundary_bits(q + base, m - base);
    if (start > base) {
      bits &= start - base >= 16 ? 0u : ~0u << (start - base); // inside a "<br />" that began before
    }
    while (bits != 0) {
      const size_t i = base + static_cast<size_t>(__builtin_ctz(bits));
      bits &= bits - 1;
      const uint8_t c = q[i];
      if (c == '<') {
        if (i + 6 <= m && std::memcmp(p + i, "<br />", 6) == 0) {
          if (i > start) {
            emit(p + start, i - start);
          }
          start = i + 6;
          bits &= start - base >= 16 ? 0u : ~0u << (start - base);
        }
        continue; // any other '<' is part of a token
      }
      if (i > start) {
        emit(p + start, i - start);
      }
      if (t.cls[c] == kIsolate) {
        emit(p + i, 1);
      }
      start = i + 1;
    }
  }
  if (m > start) {
    emit(p + start, m - start);
  }
  return true;
}

// "<br />" at s[i] once '"' bytes are deleted and ASCII lowercased (no other character lowercases to one of
// its characters); the index past it, or -1.
inline int64_t match_br(const uint8_t* s, int64_t n, int64_t i) {
  static const char kBr[] = "<br />";
  int k = 0;
  for (; i < n && k < 6; ++i) {
    uint8_t c = s[i];
    if (c == '"') {
      continue;
    }
    c = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (c != static_cast<uint8_t>(kBr[k])) {
      return -1;
    }
    ++k;
  }
  return k == 6 ? i : -1;
}

// What the UTF-8 path does with a character, precomputed from the Unicode tables: one read per character
// instead of the two-stage lookup and the record. Exactly the general path's decisions (built from them).
struct Utf8Tables {
  enum Kind : uint8_t { kKeep, kSpace, kMap, kSlow };
  // Two-byte characters (U+0080..U+07FF: Latin, Greek, Cyrillic, Hebrew, Arabic, ...).
  struct Two {
    uint8_t kind;
    uint8_t len; // kMap: the lowercase's UTF-8 length
    uint8_t bytes[6];
  };
  Two two[0x800];
  // Three-byte characters that lowercase to themselves and are not whitespace (most CJK, Indic, Thai, ...).
  uint64_t keep3[0x10000 / 64];

  explicit Utf8Tables(const UnicodeView& u) {
    constexpr int m = static_cast<int>(CaseMode::kLower);
    std::memset(keep3, 0, sizeof(keep3));
    for (uint32_t c = 0; c < 0x800; ++c) {
      Two& e = two[c];
      e = Two{kSlow, 0, {0, 0, 0, 0, 0, 0}};
      if (c < 0x80 || c == kCapitalSigma) {
        continue; // ASCII never reaches the table; U+03A3's lowercase depends on its neighbours
      }
      const uint16_t* rec = u.record(c);
      if (rec[0] & kFlagPySpace) {
        e.kind = kSpace;
      } else if (rec[2 + 2 * m] == kIdentityLen) {
        e.kind = kKeep;
      } else {
        // Lowercase characters are appended only when each is a plain token character (all of them in
        // Unicode 14); anything else stays on the general path.
        uint8_t buf[4];
        bool ok = true;
        for (int k = 0; k < rec[2 + 2 * m] && ok; ++k) {
          const uint32_t l = u.pool[rec[1 + 2 * m] + k];
          const int len = encode_utf8(l, buf);
          ok = classify(l, u) == CharClass::kKeep && e.len + len <= 6;
          if (ok) {
            std::memcpy(e.bytes + e.len, buf, static_cast<size_t>(len));
            e.len = static_cast<uint8_t>(e.len + len);
          }
        }
        e.kind = ok ? kMap : kSlow;
        e.len = ok ? e.len : 0;
      }
    }
    for (uint32_t c = 0x800; c < 0x10000; ++c) {
      if ((c >= 0xD800 && c <= 0xDFFF) || c == kReplacementChar) {
        continue; // never decoded from valid UTF-8 / the general path's marker for malformed bytes
      }
      const uint16_t* rec = u.record(c);
      if (!(rec[0] & kFlagPySpace) && rec[2 + 2 * m] == kIdentityLen) {
        keep3[c >> 6] |= uint64_t{1} << (c & 63);
      }
    }
  }
  bool kept3(uint32_t c) const {
    return ((keep3[c >> 6] >> (c & 63)) & 1) != 0;
  }
};

inline const Utf8Tables& utf8_tables() {
  static const Utf8Tables t(host_unicode_tables());
  return t;
}

// One pass over the UTF-8 bytes: ASCII by table, other characters decoded once, copied as they are when
// lowercasing leaves them alone; U+03A3 by its neighbours (final_sigma_at).
template <class Emit>
void basic_english_utf8(const char* line, size_t size, const UnicodeView& u, std::string& cur, Emit&& emit) {
  const auto* s = reinterpret_cast<const uint8_t*>(line);
  const int64_t n = static_cast<int64_t>(size);
  const AsciiTables& t = ascii_tables();
  SliceOrCopy<Emit> tb{cur, emit};
  auto flush = [&] { tb.flush(); };
  const Utf8Tables& ft = utf8_tables();
  auto push_cp = [&](uint32_t c) {
    // A lowercased character: the same rules as the input (none of them maps to ASCII punctuation or spaces
    // in Unicode 14, but the check keeps this path equal to the code-point one by construction).
    switch (classify(c, u)) {
      case CharClass::kIsolate:
        tb.single(static_cast<char>(c));
        return;
      case CharClass::kSplit:
      case CharClass::kSpace:
        flush();
        return;
      case CharClass::kDrop:
        return;
      case CharClass::kKeep:
        break;
    }
    uint8_t buf[4];
    tb.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(encode_utf8(c, buf)));
  };
  constexpr int m = static_cast<int>(CaseMode::kLower);
  for (int64_t i = 0; i < n;) {
    const uint8_t b = s[i];
    if (t.plain[b]) {
      // A run of token bytes kept as they are: one slice extension.
      int64_t j = i + 1;
      while (j < n && t.plain[s[j]]) {
        ++j;
      }
      tb.keep(line + i, static_cast<size_t>(j - i));
      i = j;
      continue;
    }
    if (b >= 0xC2 && b < 0xE0 && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
      const Utf8Tables::Two& e = ft.two[((b & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu)];
      if (e.kind == Utf8Tables::kKeep) {
        tb.keep(line + i, 2);
        i += 2;
        continue;
      }
      if (e.kind == Utf8Tables::kSpace) {
        flush();
        i += 2;
        continue;
      }
      if (e.kind == Utf8Tables::kMap) {
        tb.append(reinterpret_cast<const char*>(e.bytes), e.len);
        i += 2;
        continue;
      }
    } else if (b >= 0xE0 && b < 0xF0 && i + 2 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
      // Overlong forms decode below U+0800, surrogates to U+D800..DFFF: neither has its bit set.
      if (ft.kept3(((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu))) {
        tb.keep(line + i, 3);
        i += 3;
        continue;
      }
    }
    if (b < 0x80) {
      if (b == '<') {
        const int64_t e = match_br(s, n, i);
        if (e >= 0) {
          flush();
          i = e;
          continue;
        }
      }
      // ASCII by table, as in basic_english_ascii ('"' is dropped here instead of beforehand).
      const uint8_t c = t.lower[b];
      switch (t.cls[c]) {
        case kWord:
          if (c == '"') {
            // dropped: a later kept byte no longer continues the slice
          } else if (c == b) {
            tb.keep(line + i, 1);
          } else {
            const char lower = static_cast<char>(c);
            tb.append(&lower, 1);
          }
          break;
        case kIsolate:
          tb.single(static_cast<char>(c));
          break;
        default: // kSpace, kSplit
          flush();
      }
      ++i;
      continue;
    }
    const int64_t at = i;
    const uint32_t c = next_code_point(s, n, &i);
    if (c == kCapitalSigma) {
      tb.append(final_sigma_at(s, n, at, i, u) ? "\xCF\x82" : "\xCF\x83", 2); // U+03C2 / U+03C3
      continue;
    }
    const uint16_t* rec = u.record(c);
    if (rec[0] & kFlagPySpace) {
      flush();
    } else if (rec[2 + 2 * m] != kIdentityLen) {
      for (int k = 0; k < rec[2 + 2 * m]; ++k) {
        push_cp(u.pool[rec[1 + 2 * m] + k]);
      }
    } else if (c != kReplacementChar) {
      tb.keep(line + at, static_cast<size_t>(i - at)); // unchanged: its bytes as they are
    } else {
      push_cp(c);
    }
  }
  flush();
}

// torchtext's basic_english for one line of any Unicode; calls emit(const char*, size_t) per token. Equivalent
// to torchtext's sequence ' -> " '  ", " -> "", . -> " . ", "<br />" -> " ", , ( ) ! ? -> isolated,
// ; : -> " ", then split(): only the '"' deletion can create a "<br />" match,
// because every other replacement puts a special character next to its spaces.
template <class Emit>
void basic_english_line(const char* line, size_t size, const UnicodeView& u, LineScratch& scratch,
                        Emit&& emit) {
  if (!basic_english_ascii(line, size, scratch.cur, emit)) {
    basic_english_utf8(line, size, u, scratch.cur, emit);
  }
}

// Ids of every line's tokens, flat, and row offsets [B + 1]. `lines` gives, from several threads at once,
// lines.size(b): about line b's UTF-8 bytes (for reserving and the parallel decision), lines.prefetch(b), and
// lines.utf8(b, buf) -> (const char*, size_t): its UTF-8, in place or encoded into buf (one per thread), valid
// until the next call with that buf. The caller keeps the bytes alive.
template <class Lines>
std::tuple<at::Tensor, at::Tensor> basic_english_lookup_batch(int64_t batch, const Lines& lines, const Vocab& vb) {
  const auto& u = host_unicode_tables();
  const auto default_index = vb.get_default_index();
  // Lines in fixed chunks, each filling one flat buffer: no allocation per line.
  constexpr int64_t kChunk = 128;
  const int64_t nchunks = (batch + kChunk - 1) / kChunk;
  std::vector<std::vector<int64_t>> chunk_ids(nchunks);
  std::vector<int64_t> counts(batch);
  // The first unknown token of each chunk when no default index is set; reported after the parallel loop.
  std::vector<std::string> missing(nchunks);
  std::vector<int64_t> missing_line(nchunks, -1);
  int64_t nbytes = 0;
  for (int64_t b = 0; b < batch && nbytes < kMinParallelBytes; ++b) {
    nbytes += lines.size(b);
  }
  parallel_chunks(nchunks, nbytes, [&](const auto& next) {
    LineScratch scratch;
    // This task's ids of the chunk in hand, swapped into place at its end (parallel_chunks: false sharing).
    std::vector<int64_t> out;
    for (int64_t c; (c = next()) >= 0;) {
      const int64_t first = c * kChunk, last = std::min(batch, (c + 1) * kChunk);
      int64_t chunk_bytes = 0;
      for (int64_t b = first; b < last; ++b) {
        chunk_bytes += lines.size(b);
      }
      out.reserve(static_cast<size_t>(chunk_bytes / 4 + 16)); // ~5 bytes per English token
      for (int64_t b = first; b < last; ++b) {
        const size_t before = out.size();
        if (b + 1 < batch) {
          lines.prefetch(b + 1); // each line is its own allocation: the hardware prefetcher can't see the next
        }
        const auto line = lines.utf8(b, scratch.text);
        // Inlined into each call site of the scanners (GCC otherwise calls it once per token).
        basic_english_line(line.first, line.second, u, scratch, [&](const char* p, size_t n) FASTPREP_INLINE_LAMBDA {
          const auto* q = reinterpret_cast<const uint8_t*>(p);
          uint64_t head;
          const uint64_t slot = vb.fast_slot(q, static_cast<int64_t>(n), &head);
          const int32_t id = vb.find_fast_at(slot, head, q, static_cast<int64_t>(n));
          if (id >= 0) {
            out.push_back(id);
          } else if (default_index) {
            out.push_back(*default_index);
          } else if (missing_line[c] < 0) {
            missing[c].assign(p, n);
            missing_line[c] = b;
          }
        });
        counts[b] = static_cast<int64_t>(out.size() - before);
      }
      chunk_ids[c].swap(out); // leaves `out` empty (chunk_ids[c] was)
    }
  });
  for (int64_t c = 0; c < nchunks; ++c) {
    TORCH_CHECK(missing_line[c] < 0, "Token ", missing[c], " not found and default index is not set");
  }
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = offsets.mutable_data_ptr<int64_t>();
  op[0] = 0;
  for (int64_t b = 0; b < batch; ++b) {
    op[b + 1] = op[b] + counts[b];
  }
  auto ids = at::empty({op[batch]}, at::TensorOptions().dtype(at::kLong));
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  for (int64_t c = 0; c < nchunks; ++c) {
    std::copy(chunk_ids[c].begin(), chunk_ids[c].end(), ip + op[c * kChunk]);
  }
  return {ids, offsets};
}

} // namespace detail
} // namespace text
} // namespace fastprep
