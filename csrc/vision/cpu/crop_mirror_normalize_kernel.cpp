// crop_mirror_normalize (one window, or per-sample windows) on the CPU.
#include "vision/cpu/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("crop_mirror_normalize", &detail::cmn_op<detail::run_cpu>);
  m.impl("crop_mirror_normalize.batched", &detail::cmn_batched_op<detail::run_cpu>);
  m.impl("_random_crop_mirror_normalize", &detail::random_cmn_op<detail::run_cpu>);
}

} // namespace vision
} // namespace fastprep
