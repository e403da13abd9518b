#pragma once
// Argument checks shared by the CPU and CUDA BERT kernels: dtypes, ranks and
// devices of the packed text and of the vocab table, and the id arguments.

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>

#include "text/text_core.h"

namespace fastprep {
namespace text {
namespace detail {

inline void check_1d(const at::Tensor& t, at::ScalarType dtype, const char* name, const at::Tensor& like) {
  TORCH_CHECK_TYPE(t.scalar_type() == dtype, name, " must be a ", dtype, " tensor, got ", t.scalar_type());
  TORCH_CHECK_VALUE(t.dim() == 1, name, " must be 1-D, got shape ", t.sizes());
  TORCH_CHECK(t.device() == like.device(), "expected all tensors on the same device, got ", like.device(), " and ",
              t.device(), " (", name, ")");
}

inline void check_bert_args(const at::Tensor& text_bytes, const at::Tensor& text_offsets,
                            const at::Tensor& vocab_bytes, const at::Tensor& vocab_offsets,
                            const at::Tensor& vocab_slots, int64_t unk_id) {
  check_1d(text_bytes, at::kByte, "text_bytes", text_bytes);
  check_1d(text_offsets, at::kLong, "text_offsets", text_bytes);
  check_1d(vocab_bytes, at::kByte, "vocab_bytes", text_bytes);
  check_1d(vocab_offsets, at::kLong, "vocab_offsets", text_bytes);
  check_1d(vocab_slots, at::kInt, "vocab_slots", text_bytes);
  TORCH_CHECK_VALUE(text_offsets.numel() >= 1, "text_offsets must hold B + 1 offsets, got an empty tensor");
  TORCH_CHECK_VALUE(vocab_offsets.numel() >= 1, "vocab_offsets must hold V + 1 offsets, got an empty tensor");
  const int64_t nslots = vocab_slots.numel();
  TORCH_CHECK_VALUE(nslots > 0 && (nslots & (nslots - 1)) == 0,
                    "vocab_slots must have a power-of-two length, got ", nslots);
  const int64_t ntokens = vocab_offsets.numel() - 1;
  TORCH_CHECK_VALUE(unk_id >= 0 && unk_id < ntokens, "unk_id ", unk_id, " is not an id of the vocab (size ",
                    ntokens, ")");
}

inline Specials specials_of(c10::IntArrayRef ids, int64_t ntokens) {
  TORCH_CHECK_VALUE(static_cast<int64_t>(ids.size()) <= kMaxSpecials, "at most ", kMaxSpecials,
                    " special_ids are supported, got ", ids.size());
  Specials sp;
  for (const int64_t id : ids) {
    TORCH_CHECK_VALUE(id >= 0 && id < ntokens, "special id ", id, " is not an id of the vocab (size ", ntokens, ")");
    sp.ids[sp.n++] = static_cast<int32_t>(id);
  }
  return sp;
}

inline VocabView vocab_view(const at::Tensor& bytes, const at::Tensor& offsets, const at::Tensor& slots) {
  return {bytes.const_data_ptr<uint8_t>(), offsets.const_data_ptr<int64_t>(), slots.const_data_ptr<int32_t>(),
          slots.numel() - 1,   offsets.numel() - 1,                  bytes.numel()};
}

inline CaseMode case_mode(bool lowercase, bool strip_accents) {
  if (strip_accents) {
    return lowercase ? CaseMode::kStripLower : CaseMode::kStrip;
  }
  return lowercase ? CaseMode::kLower : CaseMode::kNone;
}

// Tokens a row may hold before its specials: max_length counts [CLS] and [SEP], as in HF.
inline int64_t token_budget(int64_t max_length, bool add_special_tokens) {
  if (max_length < 0) {
    return INT64_MAX;
  }
  const int64_t specials = add_special_tokens ? 2 : 0;
  TORCH_CHECK_VALUE(max_length >= specials, "max_length=", max_length, " leaves no room for the ", specials,
                    " special tokens");
  return max_length - specials;
}

} // namespace detail
} // namespace text
} // namespace fastprep
