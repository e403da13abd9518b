// CPU kernels of bert_encode / bert_tokenize: lines in parallel (at::parallel_for),
// each through the shared per-line core in text_core.h.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "text/bert_args.h"
#include "text/text_core.h"
#include "text/unicode/tables.h"

namespace fastprep {
namespace text {
namespace {

using detail::CaseMode;

// Lines per task: enough work to amortize scheduling, small enough to balance ragged lines.
constexpr int64_t kGrain = 32;

void check_text_offsets_cpu(const at::Tensor& offsets, int64_t nbytes) {
  const int64_t* o = offsets.const_data_ptr<int64_t>();
  const int64_t n = offsets.numel();
  TORCH_CHECK_VALUE(o[0] >= 0 && o[n - 1] <= nbytes, "text_offsets must lie in [0, ", nbytes, "], got ", o[0],
                    " .. ", o[n - 1]);
  for (int64_t i = 1; i < n; ++i) {
    TORCH_CHECK_VALUE(o[i] >= o[i - 1], "text_offsets must be non-decreasing, got ", o[i - 1], " then ", o[i],
                      " at ", i);
  }
}

// Tokenizes every line into rows[b] (at most `budget` ids each).
std::vector<std::vector<int32_t>> tokenize_rows(const at::Tensor& text_bytes, const at::Tensor& text_offsets,
                                                const detail::VocabView& v, const detail::Specials& sp,
                                                CaseMode mode, int32_t unk_id, int64_t budget) {
  check_text_offsets_cpu(text_offsets, text_bytes.numel());
  const int64_t batch = text_offsets.numel() - 1;
  const uint8_t* bytes = text_bytes.const_data_ptr<uint8_t>();
  const int64_t* offs = text_offsets.const_data_ptr<int64_t>();
  const detail::UnicodeView& u = detail::host_unicode_tables();
  std::vector<std::vector<int32_t>> rows(batch);
  at::parallel_for(0, batch, kGrain, [&](int64_t begin, int64_t end) {
    detail::WordBuffer w;
    for (int64_t b = begin; b < end; ++b) {
      auto& row = rows[b];
      auto sink = [&](int32_t id) {
        if (static_cast<int64_t>(row.size()) >= budget) {
          return false;
        }
        row.push_back(id);
        return true;
      };
      detail::bert_line(bytes + offs[b], offs[b + 1] - offs[b], u, v, sp, mode, unk_id, w, sink);
    }
  });
  return rows;
}

std::tuple<at::Tensor, at::Tensor> bert_encode_cpu(const at::Tensor& text_bytes_in, const at::Tensor& text_offsets_in,
                                                   const at::Tensor& vocab_bytes_in,
                                                   const at::Tensor& vocab_offsets_in,
                                                   const at::Tensor& vocab_slots_in, c10::IntArrayRef special_ids, bool lowercase, bool strip_accents,
                                                   int64_t unk_id, int64_t cls_id, int64_t sep_id, int64_t pad_id,
                                                   int64_t max_length, int64_t pad_to, bool add_special_tokens) {
  detail::check_bert_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in, unk_id);
  TORCH_CHECK_VALUE(pad_to >= -2, "pad_to must be -2 (no padding), -1 (longest) or a length >= 0, got ", pad_to);
  const int64_t budget = detail::token_budget(max_length, add_special_tokens);
  // Contiguous at entry: the core walks raw byte ranges.
  const auto text_bytes = text_bytes_in.contiguous();
  const auto text_offsets = text_offsets_in.contiguous();
  const auto vocab_bytes = vocab_bytes_in.contiguous();
  const auto vocab_offsets = vocab_offsets_in.contiguous();
  const auto vocab_slots = vocab_slots_in.contiguous();
  const auto v = detail::vocab_view(vocab_bytes, vocab_offsets, vocab_slots);
  const auto sp = detail::specials_of(special_ids, v.ntokens);
  const auto rows = tokenize_rows(text_bytes, text_offsets, v, sp, detail::case_mode(lowercase, strip_accents),
                                  static_cast<int32_t>(unk_id), budget);
  const int64_t batch = static_cast<int64_t>(rows.size());
  const int64_t extra = add_special_tokens ? 2 : 0;
  int64_t longest = 0, shortest = INT64_MAX;
  for (const auto& r : rows) {
    longest = std::max<int64_t>(longest, static_cast<int64_t>(r.size()) + extra);
    shortest = std::min<int64_t>(shortest, static_cast<int64_t>(r.size()) + extra);
  }
  TORCH_CHECK_VALUE(pad_to != -2 || batch == 0 || shortest == longest,
                    "Unable to create tensor: without padding the rows must have equal lengths, got lengths from ",
                    shortest, " to ", longest, "; use padding='longest' or 'max_length' (and truncation=True)");
  const int64_t width = pad_to >= 0 ? std::max(longest, pad_to) : longest;
  auto ids = at::full({batch, width}, pad_id, at::TensorOptions().dtype(at::kLong));
  auto mask = at::zeros({batch, width}, at::TensorOptions().dtype(at::kLong));
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  int64_t* mp = mask.mutable_data_ptr<int64_t>();
  at::parallel_for(0, batch, 256, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t* row = ip + b * width;
      int64_t k = 0;
      if (add_special_tokens) {
        row[k++] = cls_id;
      }
      for (const int32_t id : rows[b]) {
        row[k++] = id;
      }
      if (add_special_tokens) {
        row[k++] = sep_id;
      }
      std::fill(mp + b * width, mp + b * width + k, int64_t{1});
    }
  });
  return {ids, mask};
}

std::tuple<at::Tensor, at::Tensor> bert_tokenize_cpu(const at::Tensor& text_bytes_in,
                                                     const at::Tensor& text_offsets_in,
                                                     const at::Tensor& vocab_bytes_in,
                                                     const at::Tensor& vocab_offsets_in,
                                                     const at::Tensor& vocab_slots_in, c10::IntArrayRef special_ids, bool lowercase,
                                                     bool strip_accents, int64_t unk_id) {
  detail::check_bert_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in, unk_id);
  const auto text_bytes = text_bytes_in.contiguous();
  const auto text_offsets = text_offsets_in.contiguous();
  const auto vocab_bytes = vocab_bytes_in.contiguous();
  const auto vocab_offsets = vocab_offsets_in.contiguous();
  const auto vocab_slots = vocab_slots_in.contiguous();
  const auto v = detail::vocab_view(vocab_bytes, vocab_offsets, vocab_slots);
  const auto sp = detail::specials_of(special_ids, v.ntokens);
  const auto rows = tokenize_rows(text_bytes, text_offsets, v, sp, detail::case_mode(lowercase, strip_accents),
                                  static_cast<int32_t>(unk_id), INT64_MAX);
  const int64_t batch = static_cast<int64_t>(rows.size());
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = offsets.mutable_data_ptr<int64_t>();
  op[0] = 0;
  for (int64_t b = 0; b < batch; ++b) {
    op[b + 1] = op[b] + static_cast<int64_t>(rows[b].size());
  }
  auto ids = at::empty({op[batch]}, at::TensorOptions().dtype(at::kLong));
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  at::parallel_for(0, batch, 256, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      std::copy(rows[b].begin(), rows[b].end(), ip + op[b]);
    }
  });
  return {ids, offsets};
}

} // namespace

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("bert_encode", &bert_encode_cpu);
  m.impl("bert_tokenize", &bert_tokenize_cpu);
}

} // namespace text
} // namespace fastprep
