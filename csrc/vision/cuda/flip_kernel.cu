// horizontal_flip / vertical_flip on CUDA: a copy read with a negative stride.
#include "vision/cuda/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CUDA, m) {
  m.impl("horizontal_flip", &detail::horizontal_flip_op<detail::run_cuda>);
  m.impl("vertical_flip", &detail::vertical_flip_op<detail::run_cuda>);
}

} // namespace vision
} // namespace fastprep
