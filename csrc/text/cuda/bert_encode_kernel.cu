// CUDA kernel of bert_encode: one thread per line runs the same per-line core
// as the CPU (text_core.h) over the packed UTF-8 batch, against the vocab hash
// table and the Unicode tables in device memory, and writes padded ids + mask.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <tuple>

#include "text/bert_args.h"
#include "text/text_core.h"

// The generated tables, placed in device global memory for this file.
#define FASTPREP_UNICODE_QUAL static __device__ const
#include "text/unicode/bert_tables.h"

namespace fastprep {
namespace text {
namespace {

using detail::CaseMode;

constexpr int kThreads = 128;

// Capped grid for the grid-stride loop. Not common/cuda_utils.cuh: its ATen/cuda/CUDAContext.h pulls in
// cusparse.h, which a bare toolkit without the math libraries lacks; one call to the runtime API does here.
unsigned int capped_grid(int64_t n, int device) {
  int sms = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min<int64_t>(blocks, static_cast<int64_t>(sms) * 16)));
}

// Counts tokens up to the budget (first pass, when the padded width is not known yet).
struct CountSink {
  int64_t n;
  int64_t budget;
  __device__ bool operator()(int32_t) {
    if (n >= budget) {
      return false;
    }
    ++n;
    return true;
  }
};

struct WriteSink {
  int64_t* row;
  int64_t n;
  int64_t budget;
  __device__ bool operator()(int32_t id) {
    if (n >= budget) {
      return false;
    }
    row[n++] = id;
    return true;
  }
};

template <bool kWrite>
__global__ void bert_encode_kernel(const uint8_t* __restrict__ text, int64_t nbytes, const int64_t* __restrict__ offs,
                                   int64_t batch, detail::VocabView v, detail::Specials sp, CaseMode mode, int32_t unk_id, int64_t cls_id,
                                   int64_t sep_id, bool add_special_tokens, int64_t budget, int64_t width,
                                   int64_t* __restrict__ lengths, int64_t* __restrict__ ids,
                                   int64_t* __restrict__ mask, int* __restrict__ error) {
  const detail::UnicodeView u{unicode::kStage1, unicode::kStage2, unicode::kRecords, unicode::kPool};
  detail::WordBuffer w;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < batch; b += stride) {
    const int64_t s = offs[b];
    const int64_t e = offs[b + 1];
    if (s < 0 || e < s || e > nbytes) {
      atomicExch(error, 1); // reported as a ValueError by the host
      lengths[b] = 0;
      continue;
    }
    const int64_t extra = add_special_tokens ? 1 : 0;
    if (kWrite) {
      int64_t* row = ids + b * width;
      if (add_special_tokens) {
        row[0] = cls_id;
      }
      WriteSink sink{row + extra, 0, budget};
      detail::bert_line(text + s, e - s, u, v, sp, mode, unk_id, w, sink);
      int64_t n = sink.n + extra;
      if (add_special_tokens) {
        row[n++] = sep_id;
      }
      for (int64_t k = 0; k < n; ++k) {
        mask[b * width + k] = 1;
      }
      lengths[b] = n;
    } else {
      CountSink sink{0, budget};
      detail::bert_line(text + s, e - s, u, v, sp, mode, unk_id, w, sink);
      lengths[b] = sink.n + 2 * extra;
    }
  }
}

std::tuple<at::Tensor, at::Tensor> bert_encode_cuda(const at::Tensor& text_bytes_in,
                                                    const at::Tensor& text_offsets_in,
                                                    const at::Tensor& vocab_bytes_in,
                                                    const at::Tensor& vocab_offsets_in,
                                                    const at::Tensor& vocab_slots_in, c10::IntArrayRef special_ids, bool lowercase,
                                                    bool strip_accents, int64_t unk_id, int64_t cls_id, int64_t sep_id,
                                                    int64_t pad_id, int64_t max_length, int64_t pad_to,
                                                    bool add_special_tokens) {
  detail::check_bert_args(text_bytes_in, text_offsets_in, vocab_bytes_in, vocab_offsets_in, vocab_slots_in, unk_id);
  TORCH_CHECK_VALUE(pad_to >= -2, "pad_to must be -2 (no padding), -1 (longest) or a length >= 0, got ", pad_to);
  const int64_t budget = detail::token_budget(max_length, add_special_tokens);
  const c10::cuda::CUDAGuard guard(text_bytes_in.device());
  // Contiguous at entry: the kernel walks raw byte ranges.
  const auto text_bytes = text_bytes_in.contiguous();
  const auto text_offsets = text_offsets_in.contiguous();
  const auto vocab_bytes = vocab_bytes_in.contiguous();
  const auto vocab_offsets = vocab_offsets_in.contiguous();
  const auto vocab_slots = vocab_slots_in.contiguous();
  const int64_t batch = text_offsets.numel() - 1;
  const auto opts = text_offsets.options();
  if (batch == 0) {
    const int64_t width = std::max<int64_t>(pad_to, 0);
    return {at::full({0, width}, pad_id, opts), at::zeros({0, width}, opts)};
  }
  const auto v = detail::vocab_view(vocab_bytes, vocab_offsets, vocab_slots);
  const CaseMode mode = detail::case_mode(lowercase, strip_accents);
  const auto sp = detail::specials_of(special_ids, v.ntokens);
  auto stream = c10::cuda::getCurrentCUDAStream();
  const unsigned int grid = capped_grid(batch, text_bytes.device().index());
  auto lengths = at::empty({batch}, opts);
  auto error = at::zeros({1}, opts.dtype(at::kInt));
  const int64_t extra = add_special_tokens ? 2 : 0;

  // The width is known up front only when truncation caps every row below the fixed padding.
  int64_t width = -1;
  if (max_length >= 0 && pad_to >= max_length) {
    width = pad_to;
  } else {
    bert_encode_kernel<false><<<grid, kThreads, 0, stream>>>(
        text_bytes.const_data_ptr<uint8_t>(), text_bytes.numel(), text_offsets.const_data_ptr<int64_t>(), batch, v,
        sp, mode, static_cast<int32_t>(unk_id), cls_id, sep_id, add_special_tokens, budget, 0,
        lengths.mutable_data_ptr<int64_t>(), nullptr, nullptr, error.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    // One small D2H copy: longest, shortest and the error flag.
    const auto stats = at::stack({lengths.max(), lengths.min(), error[0].to(at::kLong)}).cpu();
    const int64_t* st = stats.const_data_ptr<int64_t>();
    TORCH_CHECK_VALUE(st[2] == 0, "text_offsets must be non-decreasing and lie in [0, ", text_bytes.numel(), "]");
    TORCH_CHECK_VALUE(pad_to != -2 || st[0] == st[1],
                      "Unable to create tensor: without padding the rows must have equal lengths, got lengths from ",
                      st[1], " to ", st[0], "; use padding='longest' or 'max_length' (and truncation=True)");
    width = pad_to >= 0 ? std::max(st[0], pad_to) : st[0];
  }
  auto ids = at::full({batch, width}, pad_id, opts);
  auto mask = at::zeros({batch, width}, opts);
  if (width > 0 || extra == 0) {
    bert_encode_kernel<true><<<grid, kThreads, 0, stream>>>(
        text_bytes.const_data_ptr<uint8_t>(), text_bytes.numel(), text_offsets.const_data_ptr<int64_t>(), batch, v,
        sp, mode, static_cast<int32_t>(unk_id), cls_id, sep_id, add_special_tokens, budget, width,
        lengths.mutable_data_ptr<int64_t>(), ids.mutable_data_ptr<int64_t>(), mask.mutable_data_ptr<int64_t>(),
        error.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  if (max_length >= 0 && pad_to >= max_length) {
    TORCH_CHECK_VALUE(error.item<int>() == 0, "text_offsets must be non-decreasing and lie in [0, ",
                      text_bytes.numel(), "]");
  }
  return {ids, mask};
}

} // namespace

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("bert_encode", &bert_encode_cuda);
}

} // namespace text
} // namespace fastprep
