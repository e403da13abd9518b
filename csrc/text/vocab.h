#pragma once
// fastprep.Vocab: torchtext.vocab.Vocab's C++ object, as a TorchScript class.
// Tokens live in one byte blob with an open-addressing table sized to the
// vocabulary; the same arrays, as tensors, feed the BERT kernels on any device.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/util/Optional.h>
#include <torch/custom_class.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "text/text_core.h"

namespace fastprep {
namespace text {

// Pickled state: (format version, itos, [default index] or []).
using VocabState = std::tuple<int64_t, std::vector<std::string>, std::vector<int64_t>>;

struct Vocab : torch::CustomClassHolder {
  explicit Vocab(std::vector<std::string> tokens, c10::optional<int64_t> default_index = c10::nullopt);

  int64_t len() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  bool contains(const std::string& token) const { return find(token) >= 0; }
  int64_t getitem(const std::string& token) const;
  void set_default_index(c10::optional<int64_t> index);
  c10::optional<int64_t> get_default_index() const { return default_index_; }
  void insert_token(const std::string& token, int64_t index);
  void append_token(const std::string& token);
  std::string lookup_token(int64_t index) const;
  std::vector<std::string> lookup_tokens(const std::vector<int64_t>& indices) const;
  std::vector<int64_t> lookup_indices(const std::vector<std::string>& tokens) const;
  c10::Dict<std::string, int64_t> get_stoi() const;
  std::vector<std::string> get_itos() const;

  // -1 when absent.
  int32_t find(const std::string& token) const { return find(reinterpret_cast<const uint8_t*>(token.data()), token.size()); }
  int32_t find(const uint8_t* s, int64_t n) const { return view().find(detail::fnv_hash(s, n), nullptr, 0, s, n); }
  detail::VocabView view() const {
    return {bytes_.data(), offsets_.data(), slots_.data(), static_cast<int64_t>(slots_.size()) - 1, len(),
            static_cast<int64_t>(bytes_.size())};
  }

  // [bytes uint8, offsets int64, slots int32] on `device`, built once per device and cached.
  std::vector<at::Tensor> table(c10::Device device);

  VocabState state() const;
  static c10::intrusive_ptr<Vocab> from_state(VocabState state);

 private:
  void rebuild_slots();
  std::string token_at(int64_t i) const {
    return std::string(reinterpret_cast<const char*>(bytes_.data()) + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  void check_index(int64_t index, int64_t upper) const;

  std::vector<uint8_t> bytes_;
  std::vector<int64_t> offsets_{0};
  std::vector<int32_t> slots_{-1};
  c10::optional<int64_t> default_index_;
  std::mutex cache_mutex_;
  std::map<std::string, std::vector<at::Tensor>> device_tables_;
};

// Registers torch.classes.fastprep.Vocab once; call before naming the class in an op.
void register_vocab_class();

} // namespace text
} // namespace fastprep
