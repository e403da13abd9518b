#pragma once
// fastprep.Vocab: torchtext.vocab.Vocab's C++ object, as a TorchScript class.
// Tokens live in one byte blob with an open-addressing table sized to the
// vocabulary; the same arrays, as tensors, feed the BERT kernels on any device.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/macros/Macros.h>
#include <c10/util/Optional.h>
#include <torch/custom_class.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
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
  // The same answer as find(), from a CPU-only index built for string lookups (basic_english): each slot keeps
  // the token's first eight bytes and its length, so a token of at most eight bytes (most words) is found or
  // missed with one 16-byte read and no access to the offsets or the byte blob.
  int32_t find_fast(const uint8_t* s, int64_t n) const {
    const uint64_t head = load_head(s, n);
    const uint64_t mask = fast_slots_.size() - 1;
    for (uint64_t i = fast_hash(head, s, n) & mask;; i = (i + 1) & mask) {
      const FastSlot& e = fast_slots_[i];
      if (e.id_plus_1 == 0) {
        return -1;
      }
      if (e.head == head && e.len == static_cast<uint64_t>(n) &&
          (n <= 8 || std::memcmp(bytes_.data() + offsets_[e.id_plus_1 - 1] + 8, s + 8, static_cast<size_t>(n - 8)) == 0)) {
        return static_cast<int32_t>(e.id_plus_1 - 1);
      }
    }
  }
  // find_fast in two steps (the slot the probe starts at and the token's head, then the probe), comparing
  // tokens longer than eight bytes without a libc call.
  // Always inlined: once per token in basic_english's scanners.
  C10_ALWAYS_INLINE uint64_t fast_slot(const uint8_t* s, int64_t n, uint64_t* head) const {
    *head = load_head(s, n);
    return fast_hash(*head, s, n) & (fast_slots_.size() - 1);
  }
  C10_ALWAYS_INLINE int32_t find_fast_at(uint64_t slot, uint64_t head, const uint8_t* s, int64_t n) const {
    const uint64_t mask = fast_slots_.size() - 1;
    for (uint64_t i = slot;; i = (i + 1) & mask) {
      const FastSlot& e = fast_slots_[i];
      if (e.id_plus_1 == 0) {
        return -1;
      }
      if (e.head == head && e.len == static_cast<uint64_t>(n) &&
          (n <= 8 || tail_equal(bytes_.data() + offsets_[e.id_plus_1 - 1], s, n))) {
        return static_cast<int32_t>(e.id_plus_1 - 1);
      }
    }
  }
  // Bytes 8..n-1 of two n-byte strings (n > 8) by 8-byte words, the last one overlapping: no libc call for
  // the 9-24 byte tokens of non-Latin scripts.
  static bool tail_equal(const uint8_t* a, const uint8_t* b, int64_t n) {
    uint64_t wa, wb;
    for (int64_t k = 8; k + 8 < n; k += 8) {
      std::memcpy(&wa, a + k, 8);
      std::memcpy(&wb, b + k, 8);
      if (wa != wb) {
        return false;
      }
    }
    std::memcpy(&wa, a + n - 8, 8);
    std::memcpy(&wb, b + n - 8, 8);
    return wa == wb;
  }
  // The first min(n, 8) bytes, zero-padded, without reading past s[n - 1] (overlapping loads, no byte loop).
  static uint64_t load_head(const uint8_t* s, int64_t n) {
    if (n >= 8) {
      uint64_t w;
      std::memcpy(&w, s, 8);
      return w;
    }
    if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, s, 4);
      std::memcpy(&hi, s + n - 4, 4);
      return lo | ((static_cast<uint64_t>(hi) >> (8 * (8 - n))) << 32); // 64-bit shift: n == 4 shifts by 32
    }
    if (n == 0) {
      return 0;
    }
    return static_cast<uint64_t>(s[0]) | (static_cast<uint64_t>(s[n / 2]) << (8 * (n / 2))) |
        (static_cast<uint64_t>(s[n - 1]) << (8 * (n - 1)));
  }
  static uint64_t fast_hash(uint64_t head, const uint8_t* s, int64_t n) {
    uint64_t h = (head ^ (static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ull)) * 0xFF51AFD7ED558CCDull;
    if (n > 8) {
      // Whole 8-byte words, the last one overlapping its predecessor: no partial load, no byte loop.
      uint64_t w;
      for (int64_t i = 8; i + 8 < n; i += 8) {
        std::memcpy(&w, s + i, 8);
        h = ((h ^ (h >> 32)) ^ w) * 0xC4CEB9FE1A85EC53ull;
      }
      std::memcpy(&w, s + n - 8, 8);
      h = ((h ^ (h >> 32)) ^ w) * 0xC4CEB9FE1A85EC53ull;
    }
    h ^= h >> 32; // the low bits pick the slot: fold the well-mixed high half into them
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  }
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
  struct FastSlot {
    uint64_t head = 0; // load_head() of the token
    uint32_t len = 0;
    uint32_t id_plus_1 = 0; // 0: empty
  };
  std::vector<FastSlot> fast_slots_{FastSlot{}};
  c10::optional<int64_t> default_index_;
  std::mutex cache_mutex_;
  std::map<std::string, std::vector<at::Tensor>> device_tables_;
};

// Registers torch.classes.fastprep.Vocab once; call before naming the class in an op.
void register_vocab_class();

} // namespace text
} // namespace fastprep
