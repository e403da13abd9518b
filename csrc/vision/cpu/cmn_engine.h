#pragma once
// The CPU engine behind every vision op (kernel math apart from op glue).

#include "vision/cmn_plan.h"

namespace fastprep {
namespace vision {
namespace detail {

// Fills plan.out4 from plan.in4 through the given windows (one for all samples or one per sample).
void run_cpu(const Plan& plan, const Windows& windows);

} // namespace detail
} // namespace vision
} // namespace fastprep
