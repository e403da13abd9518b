#pragma once
// Argument checks shared by all op families. Messages name the argument, what
// was expected and what arrived; the macro picks the Python exception type
// (TORCH_CHECK_VALUE -> ValueError, TORCH_CHECK_TYPE -> TypeError).

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#define FASTPREP_CHECK_DIM_AT_LEAST(t, n, name)                                                       \
  TORCH_CHECK_VALUE((t).dim() >= (n), name " must have at least " #n " dimensions, got shape ", \
                    (t).sizes())

#define FASTPREP_CHECK_FLOATING(t, name)                                                        \
  TORCH_CHECK_TYPE(at::isFloatingType((t).scalar_type()), name " must be a floating point tensor, got ", \
                   (t).scalar_type())

#define FASTPREP_CHECK_SAME_DEVICE(a, b)                                                         \
  TORCH_CHECK((a).device() == (b).device(), "expected all tensors on the same device, got ", \
              (a).device(), " and ", (b).device())
