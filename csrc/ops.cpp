// The one TORCH_LIBRARY block of fastprep. Op families add their schemas with
// TORCH_LIBRARY_FRAGMENT in csrc/<family>/<family>_ops.cpp.
#ifndef FASTPREP_NO_PYTHON_MODULE
#include <Python.h>

#include "common/python_module.h"
#endif

#include <torch/library.h>
#include <torch/version.h>

#include <string>

namespace fastprep {
namespace {

std::string build_info() {
  std::string info = "fastprep " FASTPREP_VERSION "; torch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
      std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
#ifdef FASTPREP_WITH_CUDA
  info += "; cuda on";
#else
  info += "; cuda off";
#endif
  return info;
}

} // namespace

TORCH_LIBRARY(fastprep, m) {
  // Compiled from torch's version macros, so the Python side can tell a stale
  // build from a fresh one even when _build_info.py was edited or lost.
  m.def("_build_info() -> str", &build_info);
}

} // namespace fastprep

#ifndef FASTPREP_NO_PYTHON_MODULE // the CMake (libtorch) build has no Python
// Ops reach Python through the dispatcher, so `import fastprep._C` only has to load the library and
// run its static registrations; families may attach eager-only helpers (common/python_module.h).
extern "C" {
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  PyObject* module = PyModule_Create(&module_def);
  if (module == nullptr) {
    return nullptr;
  }
  for (const auto hook : fastprep::detail::python_module_hooks()) {
    if (hook(module) < 0) {
      Py_DECREF(module);
      return nullptr;
    }
  }
  return module;
}
}
#endif
