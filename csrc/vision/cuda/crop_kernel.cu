// crop on CUDA: the shared engine with a plain copy; outside the image is zero.
#include "vision/cuda/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("crop", &detail::crop_op<detail::run_cuda>);
}

} // namespace vision
} // namespace fastprep
