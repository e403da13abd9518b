// The one TORCH_LIBRARY block of fastprep. Op families add their schemas with
// TORCH_LIBRARY_FRAGMENT in csrc/<family>/<family>_ops.cpp.
#ifndef FASTPREP_NO_PYTHON_MODULE
#include <Python.h>

#include "common/python_module.h"
#endif

#include <ATen/Config.h>
#include <torch/library.h>
#include <torch/version.h>

#include <string>

// at::parallel_for expands to an inline `#pragma omp parallel` in a torch built with OpenMP;
// compiled without -fopenmp it silently runs every CPU kernel on one thread.
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "torch uses OpenMP for at::parallel_for: compile fastprep with -fopenmp (setup.py and CMakeLists.txt do)"
#endif

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
#ifdef _OPENMP
  info += "; parallel openmp";
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
// Ops reach Python through the dispatcher, so `import fastprep._C` mainly loads
// the library and runs its static registrations; the module itself only holds
// the Python-only functions families registered (common/python_module.h).
extern "C" {
PyMODINIT_FUNC PyInit__C(void) {
  static std::vector<PyMethodDef> methods = [] {
    auto m = fastprep::detail::python_methods();
    m.push_back({nullptr, nullptr, 0, nullptr});
    return m;
  }();
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, methods.data()};
  return PyModule_Create(&module_def);
}
}
#endif
