// normalize on the CPU: the shared engine over the whole image, no flip.
#include "vision/cpu/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("normalize", &detail::normalize_op<detail::run_cpu>);
  m.impl("normalize.out", &detail::normalize_out_op<detail::run_cpu>);
}

} // namespace vision
} // namespace fastprep
