// The registered basic_english ops (TorchScript, C++, and any str[] the eager fast path does not take).
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "text/cpu/basic_english.h"
#include "text/vocab.h"

namespace fastprep {
namespace text {
namespace {

std::vector<std::string> basic_english(const std::string& line) {
  std::vector<std::string> tokens;
  detail::LineScratch scratch;
  detail::basic_english_line(line.data(), line.size(), detail::host_unicode_tables(), scratch,
                             [&](const char* p, size_t n) { tokens.emplace_back(p, n); });
  return tokens;
}

// c10::List hands out references to the boxed strings: no per-line copy into a std::vector<std::string>.
struct ListLines {
  const c10::List<std::string>& list;
  int64_t size(int64_t b) const { return static_cast<int64_t>(list.get(b).size()); }
  void prefetch(int64_t b) const { __builtin_prefetch(list.get(b).data()); }
  std::pair<const char*, size_t> utf8(int64_t b, std::string& /*buf*/) const {
    const std::string& s = list.get(b);
    return {s.data(), s.size()};
  }
};

std::tuple<at::Tensor, at::Tensor> basic_english_lookup(const c10::List<std::string>& lines,
                                                        const c10::intrusive_ptr<Vocab>& vocab) {
  return detail::basic_english_lookup_batch(static_cast<int64_t>(lines.size()), ListLines{lines}, *vocab);
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
