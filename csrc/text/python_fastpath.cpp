// The eager Python entry of basic_english_lookup: reads each str's UTF-8 in place (zero-copy for ASCII str,
// CPython's cached encoding otherwise) instead of boxing the list into a c10::List<std::string>, which cost
// as much as the tokenizer itself. TorchScript, torch.compile and C++ keep the registered op; both run
// detail::basic_english_lookup_batch. The only file of the family that includes the Python headers.
#ifndef FASTPREP_NO_PYTHON_MODULE // the CMake (libtorch) build has no Python

#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/object_ptr.h>
#include <torch/csrc/utils/pybind.h>

#include <tuple>
#include <utility>
#include <vector>

#include "common/python_module.h"
#include "text/cpu/basic_english.h"
#include "text/vocab.h"

namespace fastprep {
namespace text {
namespace {

// _basic_english_lookup_fast(lines, vocab) -> (ids, offsets), or NotImplemented when `lines` is not a
// list/tuple of str with a UTF-8 form (a lone surrogate): the caller then calls the op, whose errors stand.
PyObject* basic_english_lookup_fast(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  TORCH_CHECK_TYPE(nargs == 2, "_basic_english_lookup_fast(lines, vocab) takes 2 arguments, got ", nargs);
  if (!PyList_Check(args[0]) && !PyTuple_Check(args[0])) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  // The tuple holds a reference to every str, so their bytes outlive the GIL release below even if another
  // thread edits the list meanwhile.
  THPObjectPtr items(PySequence_Tuple(args[0]));
  if (!items) {
    return nullptr;
  }
  const auto vocab = torch::jit::toCustomClass<Vocab>(args[1]);
  const Py_ssize_t batch = PyTuple_GET_SIZE(items.get());
  std::vector<std::pair<const char*, size_t>> lines(static_cast<size_t>(batch));
  for (Py_ssize_t b = 0; b < batch; ++b) {
    PyObject* s = PyTuple_GET_ITEM(items.get(), b);
    if (!PyUnicode_Check(s)) {
      Py_RETURN_NOTIMPLEMENTED;
    }
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(s, &n); // an ASCII str's own buffer; cached by the str otherwise
    if (p == nullptr) {
      PyErr_Clear();
      Py_RETURN_NOTIMPLEMENTED;
    }
    lines[b] = {p, static_cast<size_t>(n)};
  }
  std::tuple<at::Tensor, at::Tensor> out;
  {
    // Tokenize and look up without the GIL: other Python threads (data loader workers) keep running.
    pybind11::gil_scoped_release no_gil;
    out = detail::basic_english_lookup_batch(
        static_cast<int64_t>(batch), [&](int64_t b) { return lines[b]; }, *vocab);
  }
  THPObjectPtr ids(THPVariable_Wrap(std::get<0>(out)));
  THPObjectPtr offsets(THPVariable_Wrap(std::get<1>(out)));
  if (!ids || !offsets) {
    return nullptr;
  }
  return PyTuple_Pack(2, ids.get(), offsets.get());
  END_HANDLE_TH_ERRORS
}

const fastprep::detail::PythonMethodRegistrar lookup_reg(
    {"_basic_english_lookup_fast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&basic_english_lookup_fast)),
     METH_FASTCALL, "basic_english + Vocab lookup for a list of str (eager entry of fastprep::basic_english_lookup)"});

} // namespace
} // namespace text
} // namespace fastprep

#endif // FASTPREP_NO_PYTHON_MODULE
