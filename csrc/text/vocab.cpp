#include "text/vocab.h"

#include <ATen/ATen.h>

#include <limits>
#include <utility>

namespace fastprep {
namespace text {

namespace {
constexpr int64_t kStateVersion = 1;
// Ids are int32 in the kernels and the table; far above any real vocabulary.
constexpr int64_t kMaxTokens = std::numeric_limits<int32_t>::max() / 4;
} // namespace

Vocab::Vocab(std::vector<std::string> tokens, c10::optional<int64_t> default_index) {
  TORCH_CHECK_VALUE(static_cast<int64_t>(tokens.size()) <= kMaxTokens, "Vocab supports at most ", kMaxTokens,
                    " tokens, got ", tokens.size());
  size_t total = 0;
  for (const auto& t : tokens) {
    total += t.size();
  }
  bytes_.reserve(total);
  offsets_.reserve(tokens.size() + 1);
  for (const auto& t : tokens) {
    bytes_.insert(bytes_.end(), t.begin(), t.end());
    offsets_.push_back(static_cast<int64_t>(bytes_.size()));
  }
  rebuild_slots();
  // rebuild_slots keeps the first of equal tokens; a later duplicate is the torchtext error.
  for (int64_t i = 0; i < len(); ++i) {
    const auto t = token_at(i);
    TORCH_CHECK(find(t) == i, "Duplicate token found in tokens list: ", t);
  }
  set_default_index(default_index);
}

void Vocab::rebuild_slots() {
  int64_t cap = 2;
  while (cap < 2 * len() + 2) {
    cap <<= 1;
  }
  slots_.assign(cap, -1);
  const auto v = view();
  for (int64_t id = 0; id < len(); ++id) {
    const uint8_t* s = bytes_.data() + offsets_[id];
    const int64_t n = offsets_[id + 1] - offsets_[id];
    if (v.find(detail::fnv_hash(s, n), nullptr, 0, s, n) >= 0) {
      continue;
    }
    int64_t i = static_cast<int64_t>(detail::fnv_hash(s, n) & static_cast<uint64_t>(cap - 1));
    while (slots_[i] >= 0) {
      i = (i + 1) & (cap - 1);
    }
    slots_[i] = static_cast<int32_t>(id);
  }
  // The CPU string index: same capacity, same first-of-equal-tokens rule.
  fast_slots_.assign(cap, FastSlot{});
  const uint64_t fmask = static_cast<uint64_t>(cap - 1);
  for (int64_t id = 0; id < len(); ++id) {
    const uint8_t* s = bytes_.data() + offsets_[id];
    const int64_t n = offsets_[id + 1] - offsets_[id];
    if (find_fast(s, n) >= 0) {
      continue;
    }
    const uint64_t head = load_head(s, n);
    uint64_t i = fast_hash(head, s, n) & fmask;
    while (fast_slots_[i].id_plus_1 != 0) {
      i = (i + 1) & fmask;
    }
    fast_slots_[i] = FastSlot{head, static_cast<uint32_t>(n), static_cast<uint32_t>(id + 1)};
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  device_tables_.clear();
}

int64_t Vocab::getitem(const std::string& token) const {
  const int32_t id = find(token);
  if (id >= 0) {
    return id;
  }
  TORCH_CHECK(default_index_.has_value(), "Token ", token, " not found and default index is not set");
  return *default_index_;
}

void Vocab::set_default_index(c10::optional<int64_t> index) {
  // Any int, as torchtext: its own docs use -1 as an out-of-vocabulary marker.
  default_index_ = index;
}

void Vocab::check_index(int64_t index, int64_t upper) const {
  TORCH_CHECK(index >= 0 && index < upper, "Specified index ", index, " is out of bounds for vocab of size ", len());
}

void Vocab::insert_token(const std::string& token, int64_t index) {
  check_index(index, len() + 1);
  const int32_t existing = find(token);
  TORCH_CHECK(existing < 0, "Token ", token, " already exists in the Vocab with index: ", existing);
  TORCH_CHECK_VALUE(len() < kMaxTokens, "Vocab supports at most ", kMaxTokens, " tokens");
  const int64_t at = offsets_[index];
  bytes_.insert(bytes_.begin() + at, token.begin(), token.end());
  offsets_.insert(offsets_.begin() + index + 1, at + static_cast<int64_t>(token.size()));
  for (size_t i = index + 2; i < offsets_.size(); ++i) {
    offsets_[i] += static_cast<int64_t>(token.size());
  }
  rebuild_slots();
}

void Vocab::append_token(const std::string& token) {
  insert_token(token, len());
}

std::string Vocab::lookup_token(int64_t index) const {
  check_index(index, len());
  return token_at(index);
}

std::vector<std::string> Vocab::lookup_tokens(const std::vector<int64_t>& indices) const {
  std::vector<std::string> out;
  out.reserve(indices.size());
  for (const int64_t i : indices) {
    out.push_back(lookup_token(i));
  }
  return out;
}

std::vector<int64_t> Vocab::lookup_indices(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> out;
  out.reserve(tokens.size());
  for (const auto& t : tokens) {
    out.push_back(getitem(t));
  }
  return out;
}

c10::Dict<std::string, int64_t> Vocab::get_stoi() const {
  c10::Dict<std::string, int64_t> stoi;
  stoi.reserve(len());
  for (int64_t i = 0; i < len(); ++i) {
    stoi.insert(token_at(i), i);
  }
  return stoi;
}

std::vector<std::string> Vocab::get_itos() const {
  std::vector<std::string> itos;
  itos.reserve(len());
  for (int64_t i = 0; i < len(); ++i) {
    itos.push_back(token_at(i));
  }
  return itos;
}

std::vector<at::Tensor> Vocab::table(c10::Device device) {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  const std::string key = device.str();
  auto it = device_tables_.find(key);
  if (it != device_tables_.end()) {
    return it->second;
  }
  auto opts = at::TensorOptions().device(at::kCPU);
  std::vector<at::Tensor> t = {
      at::from_blob(bytes_.data(), {static_cast<int64_t>(bytes_.size())}, opts.dtype(at::kByte)).clone(),
      at::from_blob(offsets_.data(), {static_cast<int64_t>(offsets_.size())}, opts.dtype(at::kLong)).clone(),
      at::from_blob(slots_.data(), {static_cast<int64_t>(slots_.size())}, opts.dtype(at::kInt)).clone(),
  };
  for (auto& x : t) {
    x = x.to(device);
  }
  device_tables_.emplace(key, t);
  return t;
}

VocabState Vocab::state() const {
  std::vector<int64_t> d;
  if (default_index_) {
    d.push_back(*default_index_);
  }
  return VocabState(kStateVersion, get_itos(), d);
}

c10::intrusive_ptr<Vocab> Vocab::from_state(VocabState state) {
  const int64_t version = std::get<0>(state);
  TORCH_CHECK_VALUE(version == kStateVersion, "Vocab state has format version ", version, ", expected ",
                    kStateVersion);
  auto& itos = std::get<1>(state);
  const auto& d = std::get<2>(state);
  TORCH_CHECK_VALUE(d.size() <= 1, "Vocab state holds ", d.size(), " default indices, expected 0 or 1");
  return c10::make_intrusive<Vocab>(std::move(itos), d.empty() ? c10::nullopt : c10::optional<int64_t>(d[0]));
}

} // namespace text
} // namespace fastprep
