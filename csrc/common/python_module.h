#pragma once
// Python-only functions a family adds to the fastprep._C module (eager fast
// paths that skip the dispatcher). Ops still reach Python, TorchScript and C++
// through TORCH_LIBRARY; these are conveniences on top. The CMake (libtorch)
// build defines FASTPREP_NO_PYTHON_MODULE and compiles none of them.
#ifndef FASTPREP_NO_PYTHON_MODULE
#include <Python.h>

#include <vector>

namespace fastprep {
namespace detail {

// Filled by static registrars before Python calls PyInit__C (csrc/ops.cpp), which adds them to the module.
inline std::vector<PyMethodDef>& python_methods() {
  static std::vector<PyMethodDef> methods;
  return methods;
}

struct PythonMethodRegistrar {
  explicit PythonMethodRegistrar(PyMethodDef def) {
    python_methods().push_back(def);
  }
};

} // namespace detail
} // namespace fastprep
#endif
