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
#include <cstdlib>
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

// Line b's bytes [*s, *e), or false for malformed offsets: then the error flag's bit 1 is set (reported as a
// ValueError by the host) and the line's length is 0. Shared by every kernel that walks the lines.
__device__ __forceinline__ bool line_range(const int64_t* __restrict__ offs, int64_t b, int64_t nbytes,
                                           int64_t* __restrict__ lengths, int* __restrict__ error, int64_t* s,
                                           int64_t* e) {
  *s = offs[b];
  *e = offs[b + 1];
  if (*s < 0 || *e < *s || *e > nbytes) {
    atomicOr(error, 1);
    lengths[b] = 0;
    return false;
  }
  return true;
}

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
    int64_t s, e;
    if (!line_range(offs, b, nbytes, lengths, error, &s, &e)) {
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

// Keeps the first cap ids (cap = the line's byte count, which bounds its tokens in practice) and counts on
// to the budget, so an overflow is detected rather than written out of bounds.
struct ScratchSink {
  int32_t* out;
  int64_t cap;
  int64_t n;
  int64_t budget;
  __device__ bool operator()(int32_t id) {
    if (n >= budget) {
      return false;
    }
    if (n < cap) {
      out[n] = id;
    }
    ++n;
    return true;
  }
};

// One pass over the text: each line's ids go to scratch at the line's byte offset. Lines are taken in
// `order` (longest first), so the threads of a warp get lines of similar length: a warp lasts as long as
// its longest line, and a batch with short and long lines mixed otherwise leaves most lanes idle.
__global__ void bert_tokenize_to_scratch_kernel(const uint8_t* __restrict__ text, int64_t nbytes,
                                                const int64_t* __restrict__ offs, const int64_t* __restrict__ order,
                                                int64_t batch, detail::VocabView v, detail::Specials sp, CaseMode mode,
                                                int32_t unk_id, int64_t budget, int64_t extra,
                                                int32_t* __restrict__ scratch, int64_t* __restrict__ lengths,
                                                int* __restrict__ error) {
  const detail::UnicodeView u{unicode::kStage1, unicode::kStage2, unicode::kRecords, unicode::kPool};
  detail::WordBuffer w;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < batch; i += stride) {
    const int64_t b = order[i];
    int64_t s, e;
    if (!line_range(offs, b, nbytes, lengths, error, &s, &e)) {
      continue;
    }
    ScratchSink sink{scratch + s, e - s, 0, budget};
    detail::bert_line(text + s, e - s, u, v, sp, mode, unk_id, w, sink);
    if (sink.n > sink.cap) {
      atomicOr(error, 2); // more ids than bytes: the host reruns the batch through bert_encode_kernel
    }
    lengths[b] = sink.n + 2 * extra;
  }
}

// The padded rows from scratch, one output element a thread (coalesced writes): [CLS] ids [SEP] pad...
__global__ void bert_pad_from_scratch_kernel(const int32_t* __restrict__ scratch, const int64_t* __restrict__ offs,
                                             const int64_t* __restrict__ lengths, int64_t batch, int64_t width,
                                             int64_t extra, int64_t cls_id, int64_t sep_id, int64_t pad_id,
                                             int64_t* __restrict__ ids, int64_t* __restrict__ mask) {
  const int64_t total = batch * width;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t b = idx / width;
    const int64_t k = idx - b * width;
    const int64_t len = lengths[b];
    int64_t id = pad_id;
    if (k < len) {
      if (extra != 0 && k == 0) {
        id = cls_id;
      } else if (extra != 0 && k == len - 1) {
        id = sep_id;
      } else {
        id = scratch[offs[b] + k - extra];
      }
    }
    ids[idx] = id;
    mask[idx] = k < len ? 1 : 0;
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
  const int device = text_bytes.device().index();
  const unsigned int grid = capped_grid(batch, device);
  auto lengths = at::empty({batch}, opts);
  auto error = at::zeros({1}, opts.dtype(at::kInt));
  const int64_t extra = add_special_tokens ? 1 : 0;
  const bool fixed_width = max_length >= 0 && pad_to >= max_length; // truncation caps every row below pad_to
  const int64_t nbytes = text_bytes.numel();

  // Tokenizes once, into a scratch buffer of one int32 per text byte, then pads from it. The fallback,
  // for text too large for the scratch or a line with more ids than bytes, tokenizes twice in place:
  // once to size the rows, once to write them.
  int64_t err = 0;
  int64_t width = fixed_width ? pad_to : -1;
  auto sized = [&](int64_t longest, int64_t shortest) {
    TORCH_CHECK_VALUE((err & 1) == 0, "text_offsets must be non-decreasing and lie in [0, ", nbytes, "]");
    TORCH_CHECK_VALUE(pad_to != -2 || longest == shortest,
                      "Unable to create tensor: without padding the rows must have equal lengths, got lengths from ",
                      shortest, " to ", longest, "; use padding='longest' or 'max_length' (and truncation=True)");
    if (!fixed_width) {
      width = pad_to >= 0 ? std::max(longest, pad_to) : longest;
    }
  };
  auto stats_of_lengths = [&]() {
    // One small device-to-host copy: longest, shortest and the error flags.
    const auto stats = at::stack({lengths.max(), lengths.min(), error[0].to(at::kLong)}).cpu();
    const int64_t* st = stats.const_data_ptr<int64_t>();
    err = st[2];
    return std::make_pair(st[0], st[1]);
  };
  constexpr int64_t kMaxScratchBytes = int64_t{1} << 28; // 1 GiB of int32 ids
  // FASTPREP_TEXT_CUDA_TWO_PASS=1 forces the fallback, so the tests run it on ordinary text.
  const char* force = std::getenv("FASTPREP_TEXT_CUDA_TWO_PASS");
  const bool two_pass = nbytes > kMaxScratchBytes || (force != nullptr && force[0] == '1');
  if (!two_pass) {
    const auto line_bytes = text_offsets.slice(0, 1) - text_offsets.slice(0, 0, batch);
    const auto order = std::get<1>(at::sort(line_bytes, /*dim=*/0, /*descending=*/true));
    auto scratch = at::empty({std::max<int64_t>(nbytes, 1)}, opts.dtype(at::kInt));
    bert_tokenize_to_scratch_kernel<<<grid, kThreads, 0, stream>>>(
        text_bytes.const_data_ptr<uint8_t>(), nbytes, text_offsets.const_data_ptr<int64_t>(),
        order.const_data_ptr<int64_t>(), batch, v, sp, mode, static_cast<int32_t>(unk_id), budget, extra,
        scratch.mutable_data_ptr<int32_t>(), lengths.mutable_data_ptr<int64_t>(), error.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (fixed_width) {
      err = error.item<int>();
      sized(0, 0);
    } else {
      const auto [longest, shortest] = stats_of_lengths();
      sized(longest, shortest);
    }
    if ((err & 2) == 0) {
      auto ids = at::empty({batch, width}, opts);
      auto mask = at::empty({batch, width}, opts);
      if (batch * width > 0) {
        bert_pad_from_scratch_kernel<<<capped_grid(batch * width, device), kThreads, 0, stream>>>(
            scratch.const_data_ptr<int32_t>(), text_offsets.const_data_ptr<int64_t>(),
            lengths.const_data_ptr<int64_t>(), batch, width, extra, cls_id, sep_id, pad_id,
            ids.mutable_data_ptr<int64_t>(), mask.mutable_data_ptr<int64_t>());
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      return {ids, mask};
    }
  } else if (!fixed_width) {
    bert_encode_kernel<false><<<grid, kThreads, 0, stream>>>(
        text_bytes.const_data_ptr<uint8_t>(), nbytes, text_offsets.const_data_ptr<int64_t>(), batch, v, sp, mode,
        static_cast<int32_t>(unk_id), cls_id, sep_id, add_special_tokens, budget, 0,
        lengths.mutable_data_ptr<int64_t>(), nullptr, nullptr, error.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    const auto [longest, shortest] = stats_of_lengths();
    sized(longest, shortest);
  }
  auto ids = at::full({batch, width}, pad_id, opts);
  auto mask = at::zeros({batch, width}, opts);
  if (width > 0 || !add_special_tokens) {
    bert_encode_kernel<true><<<grid, kThreads, 0, stream>>>(
        text_bytes.const_data_ptr<uint8_t>(), nbytes, text_offsets.const_data_ptr<int64_t>(), batch, v, sp, mode,
        static_cast<int32_t>(unk_id), cls_id, sep_id, add_special_tokens, budget, width,
        lengths.mutable_data_ptr<int64_t>(), ids.mutable_data_ptr<int64_t>(), mask.mutable_data_ptr<int64_t>(),
        error.mutable_data_ptr<int>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  if (fixed_width && two_pass) {
    TORCH_CHECK_VALUE(error.item<int>() == 0, "text_offsets must be non-decreasing and lie in [0, ", nbytes, "]");
  }
  return {ids, mask};
}

} // namespace

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("bert_encode", &bert_encode_cuda);
}

} // namespace text
} // namespace fastprep
