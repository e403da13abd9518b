// Eager CPU fast path of Compose (fastprep/transforms/_transforms.py): the same
// engine the crop_mirror_normalize ops run, called straight from CPython. A
// torch.ops call spends several microseconds parsing arguments, dispatching and
// boxing before any work, which is a fifth of a 224x224 image's time; here the
// arguments are parsed once per input signature and each call only checks the
// tensor. Anything unusual (another signature, a subclass, autograd, a torch
// function or dispatch mode, tracing, vmap, the profiler) answers None and
// Compose takes the op path, so TorchScript / torch.compile / C++ never see this.
#ifndef FASTPREP_NO_PYTHON_MODULE
#include "common/python_module.h"
#include "vision/cpu/cmn_engine.h"
#include "vision/ops_glue.h"

#include <ATen/EmptyTensor.h>
#include <ATen/PythonTorchFunctionTLS.h>
#include <ATen/record_function.h>
#include <c10/core/DefaultDtype.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/core/impl/TorchDispatchModeTLS.h>
#include <torch/csrc/Dtype.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace fastprep {
namespace vision {
namespace {

constexpr const char* kCapsule = "fastprep.vision.FastPath";

// One input signature's prepared call: the Plan (minus tensors) and the window, or the draws to make.
struct FastPath {
  detail::Plan plan; // in/out left undefined
  detail::Windows window;
  bool random = false;
  std::vector<int64_t> crop, flip_h;
  std::vector<double> flip_p;
  at::ScalarType in_dtype = at::kByte, out_dtype = at::kFloat;
  std::vector<int64_t> sizes, strides, out_sizes;

  bool matches(const at::Tensor& x) const {
    return x.scalar_type() == in_dtype && x.sizes() == at::IntArrayRef(sizes) &&
        x.strides() == at::IntArrayRef(strides);
  }
};

// Argument parsing: a value we do not expect makes creation answer None (the op path then decides).
struct Bad {};

int64_t to_int(PyObject* o) {
  if (!PyLong_Check(o) || PyBool_Check(o)) throw Bad{};
  const int64_t v = PyLong_AsLongLong(o);
  if (v == -1 && PyErr_Occurred()) throw Bad{};
  return v;
}

bool to_bool(PyObject* o) {
  if (o == Py_True) return true;
  if (o == Py_False) return false;
  throw Bad{};
}

std::vector<double> to_doubles(PyObject* o) {
  if (!PyList_Check(o) && !PyTuple_Check(o)) throw Bad{};
  std::vector<double> v;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(o); ++i) {
    PyObject* e = PySequence_Fast_GET_ITEM(o, i);
    if (!PyFloat_Check(e) && !(PyLong_Check(e) && !PyBool_Check(e))) throw Bad{};
    v.push_back(PyFloat_AsDouble(e));
    if (PyErr_Occurred()) throw Bad{};
  }
  return v;
}

std::optional<std::vector<double>> to_opt_doubles(PyObject* o) {
  if (o == Py_None) return std::nullopt;
  return to_doubles(o);
}

std::vector<int64_t> to_ints(PyObject* o) {
  if (!PyList_Check(o) && !PyTuple_Check(o)) throw Bad{};
  std::vector<int64_t> v;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(o); ++i) {
    v.push_back(to_int(PySequence_Fast_GET_ITEM(o, i)));
  }
  return v;
}

std::optional<at::ScalarType> to_opt_dtype(PyObject* o) {
  if (o == Py_None) return std::nullopt;
  if (!THPDtype_Check(o)) throw Bad{};
  return reinterpret_cast<THPDtype*>(o)->scalar_type;
}

c10::OptionalArrayRef<double> ref(const std::optional<std::vector<double>>& v) {
  return v.has_value() ? c10::OptionalArrayRef<double>(*v) : c10::OptionalArrayRef<double>();
}

// What the dispatcher would do differently from calling the engine: any of these sends the call down the op path.
bool plain_eager_cpu(const at::Tensor& x, bool random) {
  if (!x.is_cpu() || x.requires_grad()) return false;
  // Dense CPU and nothing else (no Python subclass key, conj/neg bits, functorch wrappers, ...).
  // (Autocast keys are on every tensor; the ops have no autocast kernel, so autocast passes them through.)
  const auto extra = c10::autograd_dispatch_keyset_with_ADInplaceOrView | c10::autocast_dispatch_keyset;
  if ((x.key_set() - extra) != c10::DispatchKeySet(c10::DispatchKey::CPU)) {
    return false;
  }
  // Tracing, vmap, functionalization and the Python dispatcher add thread-local keys; modes and the profiler
  // expect to see every op.
  // (BackendSelect and ADInplaceOrView are always included.)
  if (!(c10::impl::tls_local_dispatch_key_set().included_ - c10::default_included_set).empty() ||
      at::impl::torch_function_mode_enabled() ||
      c10::impl::TorchDispatchModeTLS::any_modes_set() || at::hasCallbacks()) {
    return false;
  }
  // The in-op draws equal torch.randint / torch.rand(1) in float32 (see Compose._random_plan).
  return !random || c10::get_default_dtype_as_scalartype() == at::kFloat;
}

struct ReleaseGil {
  PyThreadState* state = PyEval_SaveThread();
  ~ReleaseGil() {
    PyEval_RestoreThread(state);
  }
};

void destroy(PyObject* capsule) {
  delete static_cast<FastPath*>(PyCapsule_GetPointer(capsule, kCapsule));
}

// _vision_fastpath(x, kind, args) -> capsule or None.
// kind "op": args = crop_mirror_normalize's arguments after input (trailing defaults may be left out);
// kind "random": args = _random_crop_mirror_normalize's arguments after input, all of them.
PyObject* make_fastpath(PyObject* /*self*/, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  if (nargs != 3 || Py_TYPE(args[0]) != reinterpret_cast<PyTypeObject*>(THPVariableClass) ||
      !PyUnicode_Check(args[1]) || !PyTuple_Check(args[2])) {
    Py_RETURN_NONE;
  }
  const at::Tensor& x = THPVariable_Unpack(args[0]);
  const std::string kind = PyUnicode_AsUTF8(args[1]);
  PyObject* a = args[2];
  const Py_ssize_t n = PyTuple_GET_SIZE(a);
  auto fp = std::make_unique<FastPath>();
  try {
    detail::Plan p;
    auto arg = [&](Py_ssize_t i) { return i < n ? PyTuple_GET_ITEM(a, i) : nullptr; };
    if (kind == "op" && n >= 4 && n <= 14) {
      // Defaults as in the schema for what the tuple leaves out.
      const int64_t top = to_int(arg(0)), left = to_int(arg(1)), h = to_int(arg(2)), w = to_int(arg(3));
      const bool fh = arg(4) ? to_bool(arg(4)) : false, fv = arg(5) ? to_bool(arg(5)) : false;
      const auto mean = arg(6) ? to_opt_doubles(arg(6)) : std::nullopt;
      const auto stdv = arg(7) ? to_opt_doubles(arg(7)) : std::nullopt;
      const bool scale = arg(8) ? to_bool(arg(8)) : true;
      const auto dtype = arg(9) ? to_opt_dtype(arg(9)) : std::nullopt;
      const bool hwc = arg(10) ? to_bool(arg(10)) : false, cl = arg(11) ? to_bool(arg(11)) : false;
      const auto fill = arg(12) ? to_opt_doubles(arg(12)) : std::nullopt;
      const bool fast = arg(13) ? to_bool(arg(13)) : false;
      if (hwc || cl) Py_RETURN_NONE;
      p = detail::make_plan(x, h, w, ref(mean), ref(stdv), scale, dtype, false, false, ref(fill), fast, false);
      fp->window.top = top;
      fp->window.left = left;
      fp->window.flip_h = fh;
      fp->window.flip_v = fv;
    } else if (kind == "random" && n == 8) {
      fp->random = true;
      fp->crop = to_ints(arg(0));
      fp->flip_p = to_doubles(arg(1));
      fp->flip_h = to_ints(arg(2));
      const auto mean = to_opt_doubles(arg(3)), stdv = to_opt_doubles(arg(4));
      const bool scale = to_bool(arg(5));
      const auto dtype = to_opt_dtype(arg(6));
      const auto fill = to_opt_doubles(arg(7));
      // random_cmn_op's checks; a failing one is raised by the op path.
      if (fp->crop.size() != 6 || fp->flip_p.size() != fp->flip_h.size() || fp->crop[0] < 0 || fp->crop[1] < 0) {
        Py_RETURN_NONE;
      }
      p = detail::make_plan(x, fp->crop[4], fp->crop[5], ref(mean), ref(stdv), scale, dtype, false, false, ref(fill),
                            false, false);
    } else {
      Py_RETURN_NONE;
    }
    // Only a plan reading x in place and writing a contiguous output can be replayed on another tensor of x's
    // signature.
    if (!p.in.is_same(x) || !p.out.is_contiguous() || !x.is_cpu()) {
      Py_RETURN_NONE;
    }
    fp->in_dtype = x.scalar_type();
    fp->out_dtype = p.out.scalar_type();
    fp->sizes = x.sizes().vec();
    fp->strides = x.strides().vec();
    fp->out_sizes = p.out.sizes().vec();
    p.in = at::Tensor();
    p.out = at::Tensor();
    fp->plan = std::move(p);
  } catch (const Bad&) {
    PyErr_Clear();
    Py_RETURN_NONE;
  } catch (const c10::Error&) {
    Py_RETURN_NONE; // the op path raises it with the right type
  }
  PyObject* cap = PyCapsule_New(fp.get(), kCapsule, destroy);
  if (cap != nullptr) {
    fp.release();
  }
  return cap;
  END_HANDLE_TH_ERRORS
}

// _vision_run(fastpath, x) -> the op's result, or None when x does not fit the fast path.
PyObject* run_fastpath(PyObject* /*self*/, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  if (nargs != 2 || Py_TYPE(args[1]) != reinterpret_cast<PyTypeObject*>(THPVariableClass)) {
    Py_RETURN_NONE;
  }
  auto* fp = static_cast<const FastPath*>(PyCapsule_GetPointer(args[0], kCapsule));
  if (fp == nullptr) {
    return nullptr;
  }
  const at::Tensor& x = THPVariable_Unpack(args[1]);
  if (!fp->matches(x) || !plain_eager_cpu(x, fp->random)) {
    Py_RETURN_NONE;
  }
  at::Tensor out;
  {
    // As the dispatcher's Python binding does: other Python threads run while the kernel does.
    ReleaseGil no_gil;
    detail::Plan p = fp->plan;
    p.in = x;
    p.out = at::detail::empty_cpu(fp->out_sizes, fp->out_dtype);
    detail::run_cpu(p, fp->random ? detail::draw_train_window(fp->crop, fp->flip_p, fp->flip_h) : fp->window);
    out = std::move(p.out);
  }
  return THPVariable_Wrap(std::move(out));
  END_HANDLE_TH_ERRORS
}

const fastprep::detail::PythonMethodRegistrar make_reg({"_vision_fastpath", reinterpret_cast<PyCFunction>(
                                                  reinterpret_cast<void (*)()>(&make_fastpath)),
                                              METH_FASTCALL, "Prepares Compose's eager CPU fast path for x's signature."});
const fastprep::detail::PythonMethodRegistrar run_reg({"_vision_run", reinterpret_cast<PyCFunction>(
                                                 reinterpret_cast<void (*)()>(&run_fastpath)),
                                             METH_FASTCALL, "Runs a prepared fast path on x, or returns None."});

} // namespace
} // namespace vision
} // namespace fastprep
#endif
