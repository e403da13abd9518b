#pragma once
// Python-only conveniences attached to the fastprep._C module (eager fast paths that skip torch's
// argument boxing). Ops still go through the dispatcher; these never replace them for TorchScript or C++.
// Only for files compiled into the Python extension (guard them with FASTPREP_NO_PYTHON_MODULE).
#include <Python.h>

#include <vector>

namespace fastprep {
namespace detail {

// Adds attributes to the freshly created module; returns -1 with a Python error set on failure.
using PythonModuleHook = int (*)(PyObject* module);

inline std::vector<PythonModuleHook>& python_module_hooks() {
  static std::vector<PythonModuleHook> hooks;
  return hooks;
}

// A static instance registers its hook while the library loads, before PyInit__C runs.
struct RegisterPythonModuleHook {
  explicit RegisterPythonModuleHook(PythonModuleHook hook) { python_module_hooks().push_back(hook); }
};

} // namespace detail
} // namespace fastprep
