#pragma once
// The CUDA engine behind every vision op (kernel math apart from op glue).

#include "vision/cmn_plan.h"

namespace fastprep {
namespace vision {
namespace detail {

// Fills plan.out from plan.in on the current stream. Per-sample windows must be on the input's
// device; their height/width columns are not read (checking them would need a host sync).
void run_cuda(const Plan& plan, const Windows& windows);

} // namespace detail
} // namespace vision
} // namespace fastprep
