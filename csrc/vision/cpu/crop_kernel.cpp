// crop on the CPU: the shared engine with a plain copy; outside the image is zero.
#include "vision/cpu/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("crop", &detail::crop_op<detail::run_cpu>);
}

} // namespace vision
} // namespace fastprep
