#pragma once
// Host copy of the generated Unicode tables (the CUDA kernels compile their own device copy).

#include "text/text_core.h"

namespace fastprep {
namespace text {
namespace detail {

const UnicodeView& host_unicode_tables();

} // namespace detail
} // namespace text
} // namespace fastprep
