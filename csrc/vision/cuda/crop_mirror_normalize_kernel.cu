// crop_mirror_normalize (one window, or per-sample windows on the device) on CUDA.
#include "vision/cuda/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("crop_mirror_normalize", &detail::cmn_op<detail::run_cuda>);
  m.impl("crop_mirror_normalize.batched", &detail::cmn_batched_op<detail::run_cuda>);
  m.impl("_random_crop_mirror_normalize", &detail::random_cmn_op<detail::run_cuda>);
}

} // namespace vision
} // namespace fastprep
