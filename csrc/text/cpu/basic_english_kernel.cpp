// torchtext's basic_english (lowercase, then its regex list, then str.split())
// as one pass over code points, with Python's lowercasing (final sigma included)
// and Python's whitespace; plus the batch path straight to vocab ids.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
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

// Calls emit(const std::string&) per token. Equivalent to torchtext's sequence
// ' -> " '  ", " -> "", . -> " . ", "<br />" -> " ", , ( ) ! ? -> isolated,
// ; : -> " ", then split(): only the '"' deletion can create a "<br />" match,
// because every other replacement puts a special character next to its spaces.
template <class Emit>
void basic_english_line(const std::string& line, const detail::UnicodeView& u, std::vector<uint32_t>& cps,
                        std::vector<uint32_t>& low, std::string& cur, Emit&& emit) {
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
      emit(cur);
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
                     [&](const std::string& t) { tokens.push_back(t); });
  return tokens;
}

std::tuple<at::Tensor, at::Tensor> basic_english_lookup(const std::vector<std::string>& lines,
                                                        const c10::intrusive_ptr<Vocab>& vocab,
                                                        int64_t padding_value) {
  const int64_t batch = static_cast<int64_t>(lines.size());
  const auto& u = detail::host_unicode_tables();
  const Vocab& vb = *vocab;
  const auto default_index = vb.get_default_index();
  std::vector<std::vector<int64_t>> rows(batch);
  // The first unknown token (in line order) when no default index is set; reported after the parallel loop.
  std::vector<std::string> missing(batch);
  at::parallel_for(0, batch, 16, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> cps, low;
    std::string cur;
    for (int64_t b = begin; b < end; ++b) {
      auto& row = rows[b];
      basic_english_line(lines[b], u, cps, low, cur, [&](const std::string& t) {
        const int32_t id = vb.find(t);
        if (id >= 0) {
          row.push_back(id);
        } else if (default_index) {
          row.push_back(*default_index);
        } else if (missing[b].empty()) {
          missing[b] = t;
        }
      });
    }
  });
  for (const auto& t : missing) {
    TORCH_CHECK(t.empty(), "Token ", t, " not found and default index is not set");
  }
  int64_t width = 0;
  for (const auto& r : rows) {
    width = std::max<int64_t>(width, static_cast<int64_t>(r.size()));
  }
  auto ids = at::full({batch, width}, padding_value, at::TensorOptions().dtype(at::kLong));
  auto lengths = at::empty({batch}, at::TensorOptions().dtype(at::kLong));
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  int64_t* lp = lengths.mutable_data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(rows[b].begin(), rows[b].end(), ip + b * width);
    lp[b] = static_cast<int64_t>(rows[b].size());
  }
  return {ids, lengths};
}

std::tuple<at::Tensor, at::Tensor> pack_strings(const std::vector<std::string>& texts) {
  const int64_t batch = static_cast<int64_t>(texts.size());
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = offsets.mutable_data_ptr<int64_t>();
  op[0] = 0;
  for (int64_t b = 0; b < batch; ++b) {
    op[b + 1] = op[b] + static_cast<int64_t>(texts[b].size());
  }
  auto bytes = at::empty({op[batch]}, at::TensorOptions().dtype(at::kByte));
  uint8_t* bp = bytes.mutable_data_ptr<uint8_t>();
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(texts[b].begin(), texts[b].end(), bp + op[b]);
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
