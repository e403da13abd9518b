// The eager Python entries of basic_english_lookup and _pack_strings (the BERT ops' input). They read each str
// in place instead of boxing the list into a c10::List<std::string>, which cost as much as the tokenizer itself:
// an ASCII str is its own UTF-8, a str with a cached UTF-8 gives that, and any other str is encoded from its
// 1/2/4-byte code units by the worker threads without the GIL (CPython would encode one str at a time and keep a
// malloc'd copy in each: 2x the tokenizer on fresh multilingual text). TorchScript, torch.compile and C++ keep
// the registered ops, which share the C++ cores. The only file of the family that includes the Python headers.
#ifndef FASTPREP_NO_PYTHON_MODULE // the CMake (libtorch) build has no Python

#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/object_ptr.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/python_module.h"
#include "text/cpu/basic_english.h"
#include "text/cpu/utf8_encode.h"
#include "text/vocab.h"

namespace fastprep {
namespace text {
namespace {

// The UTF-8 length of n code units, or -1 when one is a lone surrogate. Branch-free, so it vectorizes.
template <class Unit>
int64_t utf8_length(const Unit* s, int64_t n) {
  int64_t extra = 0;
  uint32_t surrogates = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t c = s[i];
    extra += (c >= 0x80) + (c >= 0x800) + (c >= 0x10000);
    surrogates |= static_cast<uint32_t>(c - 0xD800u < 0x800u);
  }
  return surrogates != 0 ? -1 : n + extra;
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

  // Reads `seq` (a list or tuple of str) with the GIL held; false, with no Python error set, when it is anything
  // else or holds a str that cannot be read in place (the caller defers to the op). `items` keeps the str alive.
  bool collect(PyObject* seq, THPObjectPtr& items) {
    if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
      return false;
    }
    // A tuple holds a reference to every str, so their data outlives the GIL release even if another thread
    // edits the list meanwhile.
    items = THPObjectPtr(PySequence_Tuple(seq));
    if (!items) {
      throw python_error();
    }
    const Py_ssize_t batch = PyTuple_GET_SIZE(items.get());
    lines.resize(static_cast<size_t>(batch));
    for (Py_ssize_t b = 0; b < batch; ++b) {
      PyObject* s = PyTuple_GET_ITEM(items.get(), b);
      if (!PyUnicode_Check(s)) {
        return false;
      }
      if (PyUnicode_IS_COMPACT(s) && !PyUnicode_IS_ASCII(s)) {
        // A compact str (every str CPython makes) is ready; its UTF-8 cache is the public struct's field.
        const auto* compact = reinterpret_cast<const PyCompactUnicodeObject*>(s);
        lines[b] = compact->utf8 != nullptr ? Line{compact->utf8, compact->utf8_length, 0}
                                            : Line{PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s),
                                                   static_cast<int>(PyUnicode_KIND(s))};
        continue;
      }
      Py_ssize_t n = 0;
      const char* p = PyUnicode_AsUTF8AndSize(s, &n); // an ASCII str's own buffer; a legacy str's encoding
      if (p == nullptr) {
        PyErr_Clear();
        return false;
      }
      lines[b] = {p, static_cast<int64_t>(n), 0};
    }
    return true;
  }
  int64_t batch() const {
    return static_cast<int64_t>(lines.size());
  }
  // Exact UTF-8 bytes of line b, or -1 (a lone surrogate).
  int64_t utf8_size(int64_t b) const {
    const Line& l = lines[b];
    switch (l.kind) {
      case 0:
        return l.len;
      case 1:
        return utf8_length(static_cast<const Py_UCS1*>(l.data), l.len);
      case 2:
        return utf8_length(static_cast<const Py_UCS2*>(l.data), l.len);
      default:
        return utf8_length(static_cast<const Py_UCS4*>(l.data), l.len);
    }
  }
  // Writes line b's UTF-8, its utf8_size(b) >= 0 bytes, to out.
  void write_utf8(int64_t b, uint8_t* out) const {
    const Line& l = lines[b];
    if (l.kind != 0) {
      detail::encode_code_units(l.data, l.kind, l.len, out);
    } else if (l.len > 0) {
      std::memcpy(out, l.data, static_cast<size_t>(l.len));
    }
  }

  // The first cache lines of line b's data (its UTF-8 or code units).
  void prefetch(int64_t b) const {
    const char* p = static_cast<const char*>(lines[b].data);
    const int64_t n = lines[b].len * (lines[b].kind == 0 ? 1 : lines[b].kind);
    for (int64_t k = 0; k < n && k < 512; k += 64) {
      __builtin_prefetch(p + k);
    }
  }
  // For basic_english_lookup_batch: about the UTF-8 bytes, and the bytes themselves.
  int64_t size(int64_t b) const {
    return lines[b].len * (lines[b].kind == 0 ? 1 : lines[b].kind == 4 ? 4 : lines[b].kind + 1);
  }
  std::pair<const char*, size_t> utf8(int64_t b, std::string& buf) const {
    const Line& l = lines[b];
    if (l.kind == 0) {
      return {static_cast<const char*>(l.data), static_cast<size_t>(l.len)};
    }
    // One pass into room for the longest encoding (the exact size would be a second pass over the units).
    const auto room = static_cast<size_t>(detail::utf8_capacity(l.kind, l.len));
    if (buf.size() < room) {
      buf.resize(std::max(room, 2 * buf.size())); // only grows: no refill per line
    }
    const int64_t n = detail::encode_code_units(l.data, l.kind, l.len, reinterpret_cast<uint8_t*>(&buf[0]));
    if (n < 0) {
      surrogate.store(true, std::memory_order_relaxed);
      return {buf.data(), 0};
    }
    return {buf.data(), static_cast<size_t>(n)};
  }
};

// (a, b) as a Python tuple of tensors, or nullptr with the Python error set.
PyObject* wrap_pair(const at::Tensor& a, const at::Tensor& b) {
  THPObjectPtr pa(THPVariable_Wrap(a));
  THPObjectPtr pb(THPVariable_Wrap(b));
  if (!pa || !pb) {
    return nullptr;
  }
  return PyTuple_Pack(2, pa.get(), pb.get());
}

// _basic_english_lookup_fast(lines, vocab) -> (ids, offsets), or NotImplemented when `lines` is not a
// list/tuple of str with a UTF-8 form (a lone surrogate): the caller then calls the op, whose errors stand.
PyObject* basic_english_lookup_fast(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  TORCH_CHECK_TYPE(nargs == 2, "_basic_english_lookup_fast(lines, vocab) takes 2 arguments, got ", nargs);
  StrLines lines;
  THPObjectPtr items;
  if (!lines.collect(args[0], items)) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  const auto vocab = torch::jit::toCustomClass<Vocab>(args[1]);
  std::tuple<at::Tensor, at::Tensor> out;
  {
    // Tokenize and look up without the GIL: other Python threads (data loader workers) keep running.
    pybind11::gil_scoped_release no_gil;
    try {
      out = detail::basic_english_lookup_batch(lines.batch(), lines, *vocab);
    } catch (const c10::Error&) {
      if (!lines.surrogate.load()) {
        throw; // an unknown token with no default index: the op's own error
      }
    }
  }
  if (lines.surrogate.load()) {
    Py_RETURN_NOTIMPLEMENTED; // the op's conversion of the list raises CPython's UnicodeEncodeError
  }
  return wrap_pair(std::get<0>(out), std::get<1>(out));
  END_HANDLE_TH_ERRORS
}

const fastprep::detail::PythonMethodRegistrar lookup_reg(
    {"_basic_english_lookup_fast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&basic_english_lookup_fast)),
     METH_FASTCALL, "basic_english + Vocab lookup for a list of str (eager entry of fastprep::basic_english_lookup)"});

// _pack_strings_fast(texts) -> (bytes, offsets), or NotImplemented as above. Sizes, then bytes, each in parallel
// without the GIL; the bytes are written straight into the tensor.
PyObject* pack_strings_fast(PyObject* /*module*/, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  TORCH_CHECK_TYPE(nargs == 1, "_pack_strings_fast(texts) takes 1 argument, got ", nargs);
  StrLines lines;
  THPObjectPtr items;
  if (!lines.collect(args[0], items)) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  const int64_t batch = lines.batch();
  auto offsets = at::empty({batch + 1}, at::TensorOptions().dtype(at::kLong));
  at::Tensor bytes;
  bool surrogate = false;
  {
    pybind11::gil_scoped_release no_gil;
    int64_t* op = offsets.mutable_data_ptr<int64_t>();
    // Sizes into op[1..B]; a parallel task per ~64 KiB of text.
    const int64_t grain = std::max<int64_t>(1, detail::kMinParallelBytes / 256);
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        op[b + 1] = lines.utf8_size(b);
      }
    });
    op[0] = 0;
    for (int64_t b = 0; b < batch && !surrogate; ++b) {
      surrogate = op[b + 1] < 0;
      op[b + 1] += op[b];
    }
    if (!surrogate) {
      bytes = at::empty({op[batch]}, at::TensorOptions().dtype(at::kByte));
      uint8_t* bp = bytes.mutable_data_ptr<uint8_t>();
      at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
          lines.write_utf8(b, bp + op[b]);
        }
      });
    }
  }
  if (surrogate) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  return wrap_pair(bytes, offsets);
  END_HANDLE_TH_ERRORS
}

const fastprep::detail::PythonMethodRegistrar pack_reg(
    {"_pack_strings_fast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&pack_strings_fast)),
     METH_FASTCALL, "UTF-8 bytes and offsets of a list of str (eager entry of fastprep::_pack_strings)"});

} // namespace
} // namespace text
} // namespace fastprep

#endif // FASTPREP_NO_PYTHON_MODULE
