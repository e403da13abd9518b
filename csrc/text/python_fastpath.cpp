// The eager Python entry of basic_english_lookup: reads each str in place instead of boxing the list into a
// c10::List<std::string>, which cost as much as the tokenizer itself. An ASCII str is its own UTF-8, and a str
// with a cached UTF-8 gives that; any other str is encoded by the worker threads from its 1/2/4-byte code units
// without the GIL, instead of by CPython one str at a time (a malloc and a cache entry each, 2x the tokenizer on
// fresh multilingual text). TorchScript, torch.compile and C++ keep the registered op; both run
// detail::basic_english_lookup_batch. The only file of the family that includes the Python headers.
#ifndef FASTPREP_NO_PYTHON_MODULE // the CMake (libtorch) build has no Python

#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/object_ptr.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/python_module.h"
#include "text/cpu/basic_english.h"
#include "text/vocab.h"

namespace fastprep {
namespace text {
namespace {

// UTF-8 of n code units (Py_UCS1/2/4) into out (room for 4 bytes per unit for UCS4, 3 for UCS2, 2 for UCS1); the
// bytes written, or -1 at a lone surrogate (no UTF-8 form: CPython's encoder raises there).
template <class Unit>
int64_t encode_units(const Unit* s, int64_t n, uint8_t* out) {
  uint8_t* q = out;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t c = s[i];
    if (c < 0x80) {
      *q++ = static_cast<uint8_t>(c);
      continue;
    }
    if (sizeof(Unit) > 1 && c >= 0xD800 && c <= 0xDFFF) {
      return -1;
    }
    q += detail::encode_utf8(c, q);
  }
  return q - out;
}

// The batch's str objects: UTF-8 bytes where the str has them, else its code units, encoded per line by the
// thread that tokenizes it. Only the first and last of these steps hold the GIL.
struct StrLines {
  struct Line {
    const void* data;
    int64_t len; // bytes (kind 0) or code units
    int kind; // 0: UTF-8 bytes; 1, 2, 4: PyUnicode_KIND
  };
  std::vector<Line> lines;
  mutable std::atomic<bool> surrogate{false};

  int64_t size(int64_t b) const {
    return lines[b].len * (lines[b].kind == 0 ? 1 : lines[b].kind == 4 ? 4 : lines[b].kind + 1);
  }
  std::pair<const char*, size_t> utf8(int64_t b, std::string& buf) const {
    const Line& l = lines[b];
    if (l.kind == 0) {
      return {static_cast<const char*>(l.data), static_cast<size_t>(l.len)};
    }
    const size_t room = static_cast<size_t>(size(b));
    if (buf.size() < room) {
      buf.resize(std::max(room, 2 * buf.size())); // only grows: no refill per line
    }
    auto* out = reinterpret_cast<uint8_t*>(&buf[0]);
    const int64_t n = l.kind == 1 ? encode_units(static_cast<const Py_UCS1*>(l.data), l.len, out)
        : l.kind == 2             ? encode_units(static_cast<const Py_UCS2*>(l.data), l.len, out)
                                  : encode_units(static_cast<const Py_UCS4*>(l.data), l.len, out);
    if (n < 0) {
      surrogate.store(true, std::memory_order_relaxed);
      return {buf.data(), 0};
    }
    return {buf.data(), static_cast<size_t>(n)};
  }
};

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
  StrLines lines;
  lines.lines.resize(static_cast<size_t>(batch));
  for (Py_ssize_t b = 0; b < batch; ++b) {
    PyObject* s = PyTuple_GET_ITEM(items.get(), b);
    if (!PyUnicode_Check(s)) {
      Py_RETURN_NOTIMPLEMENTED;
    }
    auto& line = lines.lines[b];
    if (PyUnicode_IS_COMPACT(s) && !PyUnicode_IS_ASCII(s)) {
      // A compact str (every str CPython makes) is ready; its UTF-8 cache is the public struct's field.
      const auto* compact = reinterpret_cast<const PyCompactUnicodeObject*>(s);
      line = compact->utf8 != nullptr ? StrLines::Line{compact->utf8, compact->utf8_length, 0}
                                      : StrLines::Line{PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s),
                                                       static_cast<int>(PyUnicode_KIND(s))};
      continue;
    }
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(s, &n); // an ASCII str's own buffer; a legacy str's encoding
    if (p == nullptr) {
      PyErr_Clear();
      Py_RETURN_NOTIMPLEMENTED;
    }
    line = {p, static_cast<int64_t>(n), 0};
  }
  std::tuple<at::Tensor, at::Tensor> out;
  {
    // Tokenize and look up without the GIL: other Python threads (data loader workers) keep running.
    pybind11::gil_scoped_release no_gil;
    try {
      out = detail::basic_english_lookup_batch(static_cast<int64_t>(batch), lines, *vocab);
    } catch (const c10::Error&) {
      if (!lines.surrogate.load()) {
        throw; // an unknown token with no default index: the op's own error
      }
    }
  }
  if (lines.surrogate.load()) {
    Py_RETURN_NOTIMPLEMENTED; // the op's conversion of the list raises CPython's UnicodeEncodeError
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
