// horizontal_flip / vertical_flip on the CPU: a copy read with a negative stride.
#include "vision/cpu/cmn_engine.h"
#include "vision/ops_glue.h"

#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("horizontal_flip", &detail::horizontal_flip_op<detail::run_cpu>);
  m.impl("vertical_flip", &detail::vertical_flip_op<detail::run_cpu>);
}

} // namespace vision
} // namespace fastprep
