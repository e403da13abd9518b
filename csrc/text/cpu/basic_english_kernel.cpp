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

template <class Emit>
bool basic_english_ascii(const std::string& line, std::string& low, Emit&& emit) {
  static const AsciiTables t;
  const size_t n = line.size();
  if (low.size() < n) {
    low.resize(std::max(n, 2 * low.size()));
  }
  char* q = &low[0];
  size_t m = 0;
  uint8_t any = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint8_t>(line[i]);
    any |= c;
    // Branch-free '"' deletion: write always, advance unless it was a quote.
    q[m] = static_cast<char>(t.lower[c & 0x7F]);
    m += c != '"';
  }
  if (any >= 0x80) {
    return false;
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
  constexpr int64_t kChunk = 256;
  const int64_t nchunks = (batch + kChunk - 1) / kChunk;
  std::vector<std::vector<int64_t>> chunk_ids(nchunks);
  std::vector<int64_t> counts(batch);
  // The first unknown token of each chunk when no default index is set; reported after the parallel loop.
  std::vector<std::string> missing(nchunks);
  std::vector<int64_t> missing_line(nchunks, -1);
  at::parallel_for(0, nchunks, 1, [&](int64_t cbegin, int64_t cend) {
    std::vector<uint32_t> cps, low;
    std::string cur;
    for (int64_t c = cbegin; c < cend; ++c) {
      auto& out = chunk_ids[c];
      for (int64_t b = c * kChunk; b < std::min(batch, (c + 1) * kChunk); ++b) {
        const size_t before = out.size();
        basic_english_line(lines.get(b), u, cps, low, cur, [&](const char* p, size_t n) {
          const int32_t id = vb.find(reinterpret_cast<const uint8_t*>(p), static_cast<int64_t>(n));
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
    std::memcpy(bp + op[b], t.data(), t.size());
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
