// torchtext's basic_english (lowercase, then its regex list, then str.split())
// as one pass over code points, with Python's lowercasing (final sigma included)
// and Python's whitespace; plus the batch path straight to vocab ids.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "text/cpu/parallel_chunks.h"
#include "text/text_core.h"
#include "text/unicode/tables.h"
#include "text/vocab.h"

namespace fastprep {
namespace text {
namespace {

constexpr uint32_t kCapitalSigma = 0x03A3, kSmallSigma = 0x03C3, kFinalSigma = 0x03C2;

// str.lower(): per-character full mapping, and CPython's final-sigma rule for U+03A3.
void python_lower(const std::vector<uint32_t>& in, std::vector<uint32_t>& out, const detail::UnicodeView& u) {
  out.clear();
  const int64_t n = static_cast<int64_t>(in.size());
  auto flags = [&](uint32_t c) { return u.record(c)[0]; };
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t c = in[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    if (c == kCapitalSigma) {
      int64_t j = i - 1;
      while (j >= 0 && (flags(in[j]) & detail::kFlagCaseIgnorable)) {
        --j;
      }
      bool final_sigma = j >= 0 && (flags(in[j]) & detail::kFlagCased);
      if (final_sigma) {
        j = i + 1;
        while (j < n && (flags(in[j]) & detail::kFlagCaseIgnorable)) {
          ++j;
        }
        final_sigma = j == n || !(flags(in[j]) & detail::kFlagCased);
      }
      out.push_back(final_sigma ? kFinalSigma : kSmallSigma);
      continue;
    }
    const uint16_t* rec = u.record(c);
    const int m = static_cast<int>(detail::CaseMode::kLower);
    if (rec[2 + 2 * m] == detail::kIdentityLen) {
      out.push_back(c);
    } else {
      out.insert(out.end(), u.pool + rec[1 + 2 * m], u.pool + rec[1 + 2 * m] + rec[2 + 2 * m]);
    }
  }
}

// ASCII-only lines (most English text) in two tight passes: lowercase while dropping '"', then split
// the contiguous result, so every token is a range of `low` and nothing is copied per character.
// Returns false, having emitted nothing, when the line has a non-ASCII byte.
enum AsciiClass : uint8_t { kWord = 0, kSpace = 1, kIsolate = 2, kSplit = 3 };

struct AsciiTables {
  uint8_t lower[128];
  uint8_t cls[128];
  AsciiTables() {
    for (int c = 0; c < 128; ++c) {
      lower[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      // str.isspace() on ASCII: \t \n \v \f \r, FS GS RS US and space.
      const bool space = c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
      cls[c] = space ? kSpace : kWord;
    }
    for (const char c : std::string("'.,()!?")) {
      cls[static_cast<uint8_t>(c)] = kIsolate;
    }
    cls[static_cast<uint8_t>(';')] = cls[static_cast<uint8_t>(':')] = kSplit;
  }
};

// Eight bytes at a time: a line is ASCII when no byte has its top bit set.
inline bool is_ascii(const char* p, size_t n) {
  size_t i = 0;
  uint64_t acc = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) {
    acc |= static_cast<uint8_t>(p[i]);
  }
  return (acc & 0x8080808080808080ull) == 0;
}

template <class Emit>
bool basic_english_ascii(const std::string& line, std::string& low, Emit&& emit) {
  static const AsciiTables t;
  const size_t n = line.size();
  if (!is_ascii(line.data(), n)) {
    return false;
  }
  if (low.size() < n) {
    low.resize(std::max(n, 2 * low.size()));
  }
  char* q = &low[0];
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint8_t>(line[i]);
    // Branch-free '"' deletion: write always, advance unless it was a quote.
    q[m] = static_cast<char>(t.lower[c]);
    m += c != '"';
  }
  const char* p = q;
  size_t start = 0;
  for (size_t i = 0; i < m; ++i) {
    const auto c = static_cast<uint8_t>(p[i]);
    const uint8_t cls = t.cls[c];
    if (cls == kWord) {
      if (c == '<' && i + 6 <= m && std::memcmp(p + i, "<br />", 6) == 0) {
        if (i > start) {
          emit(p + start, i - start);
        }
        i += 5;
        start = i + 1;
      }
      continue;
    }
    if (i > start) {
      emit(p + start, i - start);
    }
    if (cls == kIsolate) {
      emit(p + i, 1);
    }
    start = i + 1;
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

// One pass over the UTF-8 bytes for lines without U+03A3 (no context-dependent lowercasing): ASCII by
// table, other characters decoded once, copied as they are when lowercasing leaves them alone.
template <class Emit>
void basic_english_utf8(const std::string& line, const detail::UnicodeView& u, std::string& cur, Emit&& emit) {
  const auto* s = reinterpret_cast<const uint8_t*>(line.data());
  const int64_t n = static_cast<int64_t>(line.size());
  cur.clear();
  auto flush = [&] {
    if (!cur.empty()) {
      emit(cur.data(), cur.size());
      cur.clear();
    }
  };
  auto push_cp = [&](uint32_t c) {
    // A lowercased character: the same rules as the input (none of them maps to ASCII punctuation or spaces
    // in Unicode 14, but the check keeps this path equal to the code-point one by construction).
    switch (c) {
      case '\'':
      case '.':
      case ',':
      case '(':
      case ')':
      case '!':
      case '?':
        flush();
        cur.push_back(static_cast<char>(c));
        flush();
        return;
      case ';':
      case ':':
        flush();
        return;
      case '"':
        return;
      default:
        break;
    }
    if (c < 0x80 ? (c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f))
                 : (u.record(c)[0] & detail::kFlagPySpace) != 0) {
      flush();
      return;
    }
    uint8_t buf[4];
    cur.append(reinterpret_cast<const char*>(buf), detail::encode_utf8(c, buf));
  };
  constexpr int m = static_cast<int>(detail::CaseMode::kLower);
  for (int64_t i = 0; i < n;) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      if (b == '<') {
        const int64_t e = match_br(s, n, i);
        if (e >= 0) {
          flush();
          i = e;
          continue;
        }
      }
      push_cp(b >= 'A' && b <= 'Z' ? b + 32u : b);
      ++i;
      continue;
    }
    const int64_t at = i;
    const uint32_t c = detail::next_code_point(s, n, &i);
    const uint16_t* rec = u.record(c);
    if (rec[0] & detail::kFlagPySpace) {
      flush();
    } else if (rec[2 + 2 * m] != detail::kIdentityLen) {
      for (int k = 0; k < rec[2 + 2 * m]; ++k) {
        push_cp(u.pool[rec[1 + 2 * m] + k]);
      }
    } else if (c != detail::kReplacementChar) {
      cur.append(line.data() + at, static_cast<size_t>(i - at));  // unchanged: its bytes as they are
    } else {
      push_cp(c);
    }
  }
  flush();
}

// The general path, any Unicode. Calls emit(const char*, size_t) per token. Equivalent to torchtext's sequence
// ' -> " '  ", " -> "", . -> " . ", "<br />" -> " ", , ( ) ! ? -> isolated,
// ; : -> " ", then split(): only the '"' deletion can create a "<br />" match,
// because every other replacement puts a special character next to its spaces.
template <class Emit>
void basic_english_line(const std::string& line, const detail::UnicodeView& u, std::vector<uint32_t>& cps,
                        std::vector<uint32_t>& low, std::string& cur, Emit&& emit) {
  if (basic_english_ascii(line, cur, emit)) {
    return;
  }
  // U+03A3 (CE A3) needs its neighbours for the final-sigma rule: the code-point path below.
  if (line.find("\xCE\xA3") == std::string::npos) {
    basic_english_utf8(line, u, cur, emit);
    return;
  }
  cps.clear();
  const auto* s = reinterpret_cast<const uint8_t*>(line.data());
  const int64_t n = static_cast<int64_t>(line.size());
  for (int64_t i = 0; i < n;) {
    cps.push_back(detail::next_code_point(s, n, &i));
  }
  python_lower(cps, low, u);
  low.erase(std::remove(low.begin(), low.end(), static_cast<uint32_t>('"')), low.end());
  cur.clear();
  auto flush = [&] {
    if (!cur.empty()) {
      emit(cur.data(), cur.size());
      cur.clear();
    }
  };
  auto single = [&](char c) {
    flush();
    cur.push_back(c);
    flush();
  };
  static const uint32_t kBr[6] = {'<', 'b', 'r', ' ', '/', '>'};
  const size_t m = low.size();
  for (size_t i = 0; i < m; ++i) {
    const uint32_t c = low[i];
    if (c == '<' && i + 6 <= m && std::equal(kBr, kBr + 6, low.begin() + i)) {
      flush();
      i += 5;
      continue;
    }
    switch (c) {
      case '\'':
      case '.':
      case ',':
      case '(':
      case ')':
      case '!':
      case '?':
        single(static_cast<char>(c));
        continue;
      case ';':
      case ':':
        flush();
        continue;
      default:
        break;
    }
    if (c < 0x80) {
      // str.isspace() on ASCII: \t \n \v \f \r, FS GS RS US and space.
      if (c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f)) {
        flush();
      } else {
        cur.push_back(static_cast<char>(c));
      }
      continue;
    }
    if (u.record(c)[0] & detail::kFlagPySpace) {
      flush();
      continue;
    }
    uint8_t buf[4];
    const int k = detail::encode_utf8(c, buf);
    cur.append(reinterpret_cast<const char*>(buf), k);
  }
  flush();
}

std::vector<std::string> basic_english(const std::string& line) {
  std::vector<std::string> tokens;
  std::vector<uint32_t> cps, low;
  std::string cur;
  basic_english_line(line, detail::host_unicode_tables(), cps, low, cur,
                     [&](const char* p, size_t n) { tokens.emplace_back(p, n); });
  return tokens;
}

// c10::List hands out references to the boxed strings: no per-line copy into a std::vector<std::string>.
std::tuple<at::Tensor, at::Tensor> basic_english_lookup(const c10::List<std::string>& lines,
                                                        const c10::intrusive_ptr<Vocab>& vocab) {
  const int64_t batch = static_cast<int64_t>(lines.size());
  const auto& u = detail::host_unicode_tables();
  const Vocab& vb = *vocab;
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
  for (int64_t b = 0; b < batch && nbytes < detail::kMinParallelBytes; ++b) {
    nbytes += static_cast<int64_t>(lines.get(b).size());
  }
  detail::parallel_chunks(nchunks, nbytes, [&](const auto& next) {
    std::vector<uint32_t> cps, low;
    std::string cur;
    for (int64_t c; (c = next()) >= 0;) {
      auto& out = chunk_ids[c];
      for (int64_t b = c * kChunk; b < std::min(batch, (c + 1) * kChunk); ++b) {
        const size_t before = out.size();
        basic_english_line(lines.get(b), u, cps, low, cur, [&](const char* p, size_t n) {
          const int32_t id = vb.find_fast(reinterpret_cast<const uint8_t*>(p), static_cast<int64_t>(n));
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

std::tuple<at::Tensor, at::Tensor> pack_strings(const c10::List<std::string>& texts) {
  const int64_t batch = static_cast<int64_t>(texts.size());
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = offsets.mutable_data_ptr<int64_t>();
  op[0] = 0;
  for (int64_t b = 0; b < batch; ++b) {
    op[b + 1] = op[b] + static_cast<int64_t>(texts.get(b).size());
  }
  auto bytes = at::empty({op[batch]}, at::TensorOptions().dtype(at::kByte));
  uint8_t* bp = bytes.mutable_data_ptr<uint8_t>();
  for (int64_t b = 0; b < batch; ++b) {
    const std::string& t = texts.get(b);
    if (!t.empty()) {  // an all-empty batch has no byte buffer at all (memcpy from/to null is UB)
      std::memcpy(bp + op[b], t.data(), t.size());
    }
  }
  return {bytes, offsets};
}

} // namespace

// No tensor arguments, so no backend key to dispatch on: these run wherever they are called.
TORCH_LIBRARY_IMPL(fastprep, CompositeExplicitAutograd, m) {
  register_vocab_class();
  m.impl("basic_english", &basic_english);
  m.impl("basic_english_lookup", &basic_english_lookup);
  m.impl("_pack_strings", &pack_strings);
}

} // namespace text
} // namespace fastprep
