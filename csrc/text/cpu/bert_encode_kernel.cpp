// CPU kernels of bert_encode / bert_tokenize: lines in parallel (at::parallel_for),
// each through the shared per-line core in text_core.h.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "text/bert_args.h"
#include "text/cpu/large_alloc.h"
#include "text/cpu/parallel_chunks.h"
#include "text/text_core.h"
#include "text/unicode/tables.h"

namespace fastprep {
namespace text {
namespace {

using detail::CaseMode;

// Lines per chunk: enough work to amortize scheduling, small enough to balance ragged lines.
constexpr int64_t kChunk = 64;
// Output elements below which the fill stays on one thread: a small batch's copy takes microseconds, waking
// the pool more (measured 0.9 ms -> 15 ms for 100 lines at 2 threads on a loaded machine).
constexpr int64_t kMinParallelFill = 1 << 18;

// Lines per task of a fill writing `elements` outputs: the whole batch when it is small.
int64_t fill_grain(int64_t batch, int64_t elements) {
  return elements < kMinParallelFill ? std::max<int64_t>(batch, 1) : kChunk;
}

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

// Ids of every line, one flat buffer per chunk of kChunk lines (no allocation per line):
// line b is ids[b / kChunk][start[b] .. start[b] + length[b]).
struct Rows {
  std::vector<std::vector<int32_t>> ids;
  std::vector<int64_t> start;
  std::vector<int64_t> length;

  const int32_t* row(int64_t b) const { return ids[b / kChunk].data() + start[b]; }
};

// Tokenizes every line (at most `budget` ids each).
Rows tokenize_rows(const at::Tensor& text_bytes, const at::Tensor& text_offsets, const detail::VocabView& v,
                   const detail::Specials& sp, CaseMode mode, int32_t unk_id, int64_t budget) {
  check_text_offsets_cpu(text_offsets, text_bytes.numel());
  const int64_t batch = text_offsets.numel() - 1;
  const uint8_t* bytes = text_bytes.const_data_ptr<uint8_t>();
  const int64_t* offs = text_offsets.const_data_ptr<int64_t>();
  const detail::UnicodeView& u = detail::host_unicode_tables();
  const int64_t nchunks = (batch + kChunk - 1) / kChunk;
  Rows rows;
  rows.ids.resize(nchunks);
  rows.start.resize(batch);
  rows.length.resize(batch);
  detail::parallel_chunks(nchunks, offs[batch] - offs[0], [&](const auto& next) {
    detail::WordBuffer w;
    // This task's ids of the chunk in hand, swapped into place at its end (parallel_chunks: false sharing).
    std::vector<int32_t> out;
    for (int64_t c; (c = next()) >= 0;) {
      // About one id per 5 bytes of text: one reservation covers most chunks.
      out.reserve(static_cast<size_t>((offs[std::min(batch, (c + 1) * kChunk)] - offs[c * kChunk]) / 4 + 16));
      for (int64_t b = c * kChunk; b < std::min(batch, (c + 1) * kChunk); ++b) {
        const int64_t before = static_cast<int64_t>(out.size());
        const int64_t limit = budget == INT64_MAX ? INT64_MAX : before + budget;
        auto sink = [&](int32_t id) {
          if (static_cast<int64_t>(out.size()) >= limit) {
            return false;
          }
          out.push_back(id);
          return true;
        };
        detail::bert_line(bytes + offs[b], offs[b + 1] - offs[b], u, v, sp, mode, unk_id, w, sink);
        rows.start[b] = before;
        rows.length[b] = static_cast<int64_t>(out.size()) - before;
      }
      rows.ids[c].swap(out); // leaves `out` empty (rows.ids[c] was)
    }
  });
  return rows;
}

// The ops' arguments checked, made contiguous (the core walks raw byte ranges) and tokenized.
Rows tokenize_args(const at::Tensor& text_bytes_in, const at::Tensor& text_offsets_in, const at::Tensor& vocab_bytes_in,
                   const at::Tensor& vocab_offsets_in, const at::Tensor& vocab_slots_in, c10::IntArrayRef special_ids,
                   bool lowercase, bool strip_accents, int64_t unk_id, int64_t budget) {
  detail::check_bert_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in, unk_id);
  const auto text_bytes = text_bytes_in.contiguous();
  const auto text_offsets = text_offsets_in.contiguous();
  const auto vocab_bytes = vocab_bytes_in.contiguous();
  const auto vocab_offsets = vocab_offsets_in.contiguous();
  const auto vocab_slots = vocab_slots_in.contiguous();
  const auto v = detail::vocab_view(vocab_bytes, vocab_offsets, vocab_slots);
  auto sp = detail::specials_of(special_ids, v.ntokens);
  detail::set_special_first_bytes(sp, v);
  return tokenize_rows(text_bytes, text_offsets, v, sp, detail::case_mode(lowercase, strip_accents),
                       static_cast<int32_t>(unk_id), budget);
}

std::tuple<at::Tensor, at::Tensor> bert_encode_cpu(const at::Tensor& text_bytes_in, const at::Tensor& text_offsets_in,
                                                   const at::Tensor& vocab_bytes_in,
                                                   const at::Tensor& vocab_offsets_in,
                                                   const at::Tensor& vocab_slots_in, c10::IntArrayRef special_ids, bool lowercase, bool strip_accents,
                                                   int64_t unk_id, int64_t cls_id, int64_t sep_id, int64_t pad_id,
                                                   int64_t max_length, int64_t pad_to, bool add_special_tokens) {
  TORCH_CHECK_VALUE(pad_to >= -2, "pad_to must be -2 (no padding), -1 (longest) or a length >= 0, got ", pad_to);
  const auto rows = tokenize_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in,
                                  special_ids, lowercase, strip_accents, unk_id,
                                  detail::token_budget(max_length, add_special_tokens));
  const int64_t batch = static_cast<int64_t>(rows.length.size());
  const int64_t extra = add_special_tokens ? 2 : 0;
  int64_t longest = 0, shortest = INT64_MAX;
  for (const int64_t n : rows.length) {
    longest = std::max<int64_t>(longest, n + extra);
    shortest = std::min<int64_t>(shortest, n + extra);
  }
  TORCH_CHECK_VALUE(pad_to != -2 || batch == 0 || shortest == longest,
                    "Unable to create tensor: without padding the rows must have equal lengths, got lengths from ",
                    shortest, " to ", longest, "; use padding='longest' or 'max_length' (and truncation=True)");
  const int64_t width = pad_to >= 0 ? std::max(longest, pad_to) : longest;
  // Uninitialized: every element is written once below (ids then padding, ones then zeros).
  auto ids = detail::empty_large({batch, width}, at::kLong);
  auto mask = detail::empty_large({batch, width}, at::kLong);
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  int64_t* mp = mask.mutable_data_ptr<int64_t>();
  at::parallel_for(0, batch, fill_grain(batch, batch * width), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      int64_t* row = ip + b * width;
      int64_t k = 0;
      if (add_special_tokens) {
        row[k++] = cls_id;
      }
      const int32_t* src = rows.row(b);
      for (int64_t j = 0; j < rows.length[b]; ++j) {
        row[k++] = src[j];
      }
      if (add_special_tokens) {
        row[k++] = sep_id;
      }
      std::fill(row + k, row + width, pad_id);
      std::fill(mp + b * width, mp + b * width + k, int64_t{1});
      std::fill(mp + b * width + k, mp + (b + 1) * width, int64_t{0});
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
  const auto rows = tokenize_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in,
                                  special_ids, lowercase, strip_accents, unk_id, INT64_MAX);
  const int64_t batch = static_cast<int64_t>(rows.length.size());
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = offsets.mutable_data_ptr<int64_t>();
  op[0] = 0;
  for (int64_t b = 0; b < batch; ++b) {
    op[b + 1] = op[b] + rows.length[b];
  }
  auto ids = detail::empty_large({op[batch]}, at::kLong);
  int64_t* ip = ids.mutable_data_ptr<int64_t>();
  at::parallel_for(0, batch, fill_grain(batch, op[batch]), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      std::copy(rows.row(b), rows.row(b) + rows.length[b], ip + op[b]);
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
