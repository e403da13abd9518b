#pragma once
// The per-line tokenizer cores, written once for host and device: UTF-8
// decoding, the generated Unicode tables, the vocab hash table and BERT's
// normalize -> pre-tokenize -> WordPiece pipeline (Hugging Face semantics).

#include <cstdint>

#ifdef __CUDACC__
#define FASTPREP_HD __host__ __device__ __forceinline__
#else
#define FASTPREP_HD inline
#endif

namespace fastprep {
namespace text {
namespace detail {

constexpr uint32_t kReplacementChar = 0xFFFD;
constexpr int kMaxCharsPerWord = 100; // HF WordPiece max_input_chars_per_word
constexpr int kRecordWidth = 7;
constexpr uint16_t kFlagRemove = 1, kFlagWhitespace = 2, kFlagCjk = 4, kFlagPunct = 8;
constexpr uint16_t kFlagPySpace = 16, kFlagCased = 32, kFlagCaseIgnorable = 64;
constexpr uint16_t kIdentityLen = 0xFF;

// Decodes one code point at s[*i] (i < n) and advances *i; malformed or
// truncated sequences, overlongs and surrogates decode to U+FFFD one byte at a time.
FASTPREP_HD uint32_t next_code_point(const uint8_t* s, int64_t n, int64_t* i) {
  const uint8_t b0 = s[*i];
  if (b0 < 0x80) {
    *i += 1;
    return b0;
  }
  int len;
  uint32_t cp, min_cp;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min_cp = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min_cp = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min_cp = 0x10000;
  } else {
    *i += 1;
    return kReplacementChar;
  }
  if (*i + len > n) {
    *i += 1;
    return kReplacementChar;
  }
  for (int k = 1; k < len; ++k) {
    const uint8_t b = s[*i + k];
    if ((b & 0xC0) != 0x80) {
      *i += 1;
      return kReplacementChar;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *i += 1;
    return kReplacementChar;
  }
  *i += len;
  return cp;
}

FASTPREP_HD int encode_utf8(uint32_t cp, uint8_t* out) {
  if (cp < 0x80) {
    out[0] = static_cast<uint8_t>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<uint8_t>(0xC0 | (cp >> 6));
    out[1] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<uint8_t>(0xE0 | (cp >> 12));
    out[1] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<uint8_t>(0xF0 | (cp >> 18));
  out[1] = static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<uint8_t>(0x80 | (cp & 0x3F));
  return 4;
}

// Pointers to the generated tables (host arrays on the CPU, __device__ arrays on the GPU).
struct UnicodeView {
  const uint16_t* stage1;
  const uint16_t* stage2;
  const uint16_t* records;
  const uint32_t* pool;

  FASTPREP_HD const uint16_t* record(uint32_t cp) const {
    const uint32_t block = stage1[cp >> 8];
    return records + static_cast<int64_t>(stage2[block * 256u + (cp & 0xFFu)]) * kRecordWidth;
  }
};

enum class CaseMode : int { kNone = -1, kLower = 0, kStrip = 1, kStripLower = 2 };

// Open-addressing table over the token blob: slots hold token ids, -1 is empty;
// capacity is a power of two at least twice the vocabulary, so probes end.
struct VocabView {
  const uint8_t* bytes;
  const int64_t* offsets;
  const int32_t* slots;
  int64_t mask;
  int64_t ntokens;
  int64_t nbytes;

  // Id of prefix ("##" or nothing) + s[0:n], or -1. h is that string's hash. Every read is
  // bounds-checked, so a corrupted table passed from Python finds nothing instead of reading out of range.
  FASTPREP_HD int32_t find(uint64_t h, const uint8_t* prefix, int plen, const uint8_t* s, int64_t n) const {
    int64_t i = static_cast<int64_t>(h & static_cast<uint64_t>(mask));
    for (int64_t probes = 0; probes <= mask; ++probes, i = (i + 1) & mask) {
      const int32_t id = slots[i];
      if (id < 0 || id >= ntokens) {
        return -1;
      }
      const int64_t b = offsets[id];
      const int64_t e = offsets[id + 1];
      if (e - b != plen + n || b < 0 || e > nbytes) {
        continue;
      }
      bool eq = true;
      for (int k = 0; k < plen && eq; ++k) {
        eq = bytes[b + k] == prefix[k];
      }
      for (int64_t k = 0; k < n && eq; ++k) {
        eq = bytes[b + plen + k] == s[k];
      }
      if (eq) {
        return id;
      }
    }
    return -1;
  }
};

constexpr uint64_t kFnvBasis = 14695981039346656037ull;
FASTPREP_HD uint64_t fnv_step(uint64_t h, uint8_t b) {
  return (h ^ b) * 1099511628211ull;
}
FASTPREP_HD uint64_t fnv_hash(const uint8_t* s, int64_t n, uint64_t h = kFnvBasis) {
  for (int64_t k = 0; k < n; ++k) {
    h = fnv_step(h, s[k]);
  }
  return h;
}

// One word of at most kMaxCharsPerWord chars (longer words only count chars: they become [UNK]).
struct WordBuffer {
  uint8_t bytes[kMaxCharsPerWord * 4];
  uint16_t starts[kMaxCharsPerWord + 1];
  int nbytes = 0;
  int nchars = 0;

  FASTPREP_HD void push(uint32_t cp) {
    if (nchars < kMaxCharsPerWord) {
      starts[nchars] = static_cast<uint16_t>(nbytes);
      nbytes += encode_utf8(cp, bytes + nbytes);
    }
    ++nchars;
  }
};

// WordPiece on one word: longest match first, "##" continuation pieces, and
// [UNK] for the whole word when a piece fails or the word is too long.
// Emits ids through sink(id) -> bool; returns false once the sink is full.
template <class Sink>
FASTPREP_HD bool wordpiece(WordBuffer& w, const VocabView& v, int32_t unk_id, Sink& sink) {
  if (w.nchars == 0) {
    return true;
  }
  const int nchars = w.nchars;
  w.nchars = 0;
  const int nbytes = w.nbytes;
  w.nbytes = 0;
  if (nchars > kMaxCharsPerWord) {
    return sink(unk_id);
  }
  w.starts[nchars] = static_cast<uint16_t>(nbytes);
  const uint8_t prefix[2] = {'#', '#'};
  const uint64_t prefix_hash = fnv_hash(prefix, 2);
  int32_t pieces[kMaxCharsPerWord];
  uint64_t hashes[kMaxCharsPerWord + 1]; // hashes[k]: prefix ("##" after the first piece) + chars [start, k)
  int npieces = 0;
  int start = 0;
  while (start < nchars) {
    const int plen = start > 0 ? 2 : 0;
    const uint8_t* s = w.bytes + w.starts[start];
    // FNV is sequential, so one pass gives the hash of every candidate piece starting here.
    uint64_t h = start > 0 ? prefix_hash : kFnvBasis;
    for (int k = start; k < nchars; ++k) {
      for (int b = w.starts[k]; b < w.starts[k + 1]; ++b) {
        h = fnv_step(h, w.bytes[b]);
      }
      hashes[k + 1] = h;
    }
    int32_t found = -1;
    int end = nchars;
    for (; end > start; --end) {
      const int64_t n = w.starts[end] - w.starts[start];
      found = v.find(hashes[end], prefix, plen, s, n);
      if (found >= 0) {
        break;
      }
    }
    if (found < 0) {
      return sink(unk_id);
    }
    pieces[npieces++] = found;
    start = end;
  }
  for (int k = 0; k < npieces; ++k) {
    if (!sink(pieces[k])) {
      return false;
    }
  }
  return true;
}

// Special tokens ([CLS], [UNK], ...) that HF matches in the raw text before normalizing, as whole tokens.
constexpr int kMaxSpecials = 8;
struct Specials {
  int n = 0;
  int32_t ids[kMaxSpecials];
  // Bit c set when some special token may start with byte c: most positions skip the match loop.
  // All bits set (the default) means every position is tried.
  uint32_t first[8] = {~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u, ~0u};

  FASTPREP_HD bool may_start(uint8_t c) const { return n > 0 && ((first[c >> 5] >> (c & 31)) & 1u); }
};

// Narrows sp.first to the first bytes of the special tokens; needs the token bytes on the host.
inline void set_special_first_bytes(Specials& sp, const VocabView& v) {
  for (auto& f : sp.first) {
    f = 0;
  }
  for (int k = 0; k < sp.n; ++k) {
    const int64_t b = v.offsets[sp.ids[k]];
    if (b >= 0 && b < v.nbytes && v.offsets[sp.ids[k] + 1] > b) {
      const uint8_t c = v.bytes[b];
      sp.first[c >> 5] |= 1u << (c & 31);
    }
  }
}

// The longest special token starting at s[i], as (index, byte length); index -1 when none.
FASTPREP_HD int match_special(const uint8_t* s, int64_t n, int64_t i, const VocabView& v, const Specials& sp,
                              int64_t* len) {
  int best = -1;
  *len = 0;
  for (int k = 0; k < sp.n; ++k) {
    const int64_t b = v.offsets[sp.ids[k]];
    const int64_t e = v.offsets[sp.ids[k] + 1];
    const int64_t m = e - b;
    if (m <= *len || b < 0 || e > v.nbytes || i + m > n) {
      continue;
    }
    bool eq = true;
    for (int64_t k2 = 0; k2 < m && eq; ++k2) {
      eq = s[i + k2] == v.bytes[b + k2];
    }
    if (eq) {
      best = k;
      *len = m;
    }
  }
  return best;
}

// BERT on one line: special tokens split out first (leftmost, longest), then clean_text (drop NUL/U+FFFD/controls, whitespace splits),
// CJK ideographs isolated, accents stripped / lowercased per mode, punctuation
// isolated, then WordPiece. Returns false when the sink stopped it early.
template <class Sink>
FASTPREP_HD bool bert_line(const uint8_t* s, int64_t n, const UnicodeView& u, const VocabView& v,
                           const Specials& sp, CaseMode mode, int32_t unk_id, WordBuffer& w, Sink& sink) {
  w.nbytes = 0;
  w.nchars = 0;
  // Punctuation is a word of its own: ends the current word, then goes through WordPiece alone.
  auto isolated = [&](uint32_t c) {
    if (!wordpiece(w, v, unk_id, sink)) {
      return false;
    }
    w.push(c);
    return wordpiece(w, v, unk_id, sink);
  };
  int64_t i = 0;
  while (i < n) {
    if (sp.may_start(s[i])) {
      int64_t len;
      const int k = match_special(s, n, i, v, sp, &len);
      if (k >= 0) {
        if (!wordpiece(w, v, unk_id, sink) || !sink(sp.ids[k])) {
          return false;
        }
        i += len;
        continue;
      }
    }
    if (s[i] < 0x80) {
      // ASCII: no table lookups. Accent stripping never changes it; NUL and other controls are dropped.
      const uint8_t c = s[i++];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (!wordpiece(w, v, unk_id, sink)) {
          return false;
        }
      } else if (c < 0x20 || c == 0x7F) {
        continue;
      } else if ((c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || c >= '{') {
        if (!isolated(c)) {
          return false;
        }
      } else {
        const bool lower = mode == CaseMode::kLower || mode == CaseMode::kStripLower;
        w.push(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
      }
      continue;
    }
    const uint32_t cp = next_code_point(s, n, &i);
    const uint16_t* rec = u.record(cp);
    const uint16_t flags = rec[0];
    if (flags & kFlagRemove) {
      continue;
    }
    if (flags & kFlagWhitespace) {
      if (!wordpiece(w, v, unk_id, sink)) {
        return false;
      }
      continue;
    }
    const uint32_t* seq = &cp;
    int len = 1;
    if (mode != CaseMode::kNone) {
      const int m = static_cast<int>(mode);
      if (rec[2 + 2 * m] != kIdentityLen) {
        seq = u.pool + rec[1 + 2 * m];
        len = rec[2 + 2 * m];
      }
    }
    const bool isolate = (flags & kFlagCjk) != 0;
    if (isolate && !wordpiece(w, v, unk_id, sink)) {
      return false;
    }
    for (int k = 0; k < len; ++k) {
      const uint32_t c = seq[k];
      const uint16_t f = c == cp ? flags : u.record(c)[0];
      if (f & kFlagWhitespace) {
        if (!wordpiece(w, v, unk_id, sink)) {
          return false;
        }
      } else if (f & kFlagPunct) {
        if (!isolated(c)) {
          return false;
        }
      } else {
        w.push(c);
      }
    }
    if (isolate && !wordpiece(w, v, unk_id, sink)) {
      return false;
    }
  }
  return wordpiece(w, v, unk_id, sink);
}

} // namespace detail
} // namespace text
} // namespace fastprep
