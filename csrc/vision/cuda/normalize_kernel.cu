// normalize on CUDA: the shared engine over the whole image, no flip.
#include "vision/cuda/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("normalize", &detail::normalize_op<detail::run_cuda>);
  m.impl("normalize.out", &detail::normalize_out_op<detail::run_cuda>);
}

} // namespace vision
} // namespace fastprep
