// Runs a preprocessing pipeline saved from Python, in a process without Python:
//
//   run_pipeline [--device DEV] <pipeline.pt|pipeline.pt2> <inputs.pt> <outputs.pt>
//   run_pipeline --info
//
// pipeline.pt   a TorchScript module (torch.jit.save); its forward gets the inputs.
// pipeline.pt2  an AOTInductor package (torch._inductor.aoti_compile_and_package);
//               its inputs must be tensors.
// inputs.pt     torch.save(tuple_of_positional_args); tensors, numbers, strings and
//               (nested) lists / tuples / dicts of them.
// outputs.pt    what forward returned, written with pickle_save: torch.load reads it.
//
// The program calls nothing of fastprep's: linking libfastprep registers its ops.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>
#ifdef FASTPREP_EXAMPLE_AOTI
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#endif

#include <algorithm>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open " + path);
  }
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::vector<char>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The unpickler has no type information, so containers come back as List[Any] /
// Dict[Any, Any]. Re-tag them with the types forward() declares: a scripted
// forward(List[str]) refuses a List[Any].
c10::IValue retype(const c10::IValue& v, const c10::TypePtr& t) {
  if (auto opt = t->cast<c10::OptionalType>()) {
    return v.isNone() ? v : retype(v, opt->getElementType());
  }
  if (v.isList()) {
    // forward(Any) (torchtext-style tokenizers) tests torch.jit.isinstance(x, List[str]): a
    // non-empty list of strings declared Any gets its precise type back.
    if (t->kind() == c10::TypeKind::AnyType) {
      const auto& elems = v.toListRef();
      const bool all_str =
          !elems.empty() && std::all_of(elems.begin(), elems.end(), [](const c10::IValue& e) { return e.isString(); });
      return all_str ? retype(v, c10::ListType::create(c10::StringType::get())) : v;
    }
    if (auto lt = t->cast<c10::ListType>()) {
      const auto& elem = lt->getElementType();
      c10::impl::GenericList out(elem);
      for (const c10::IValue& e : v.toListRef()) {
        out.push_back(retype(e, elem));
      }
      return out;
    }
  } else if (v.isTuple()) {
    auto tt = t->cast<c10::TupleType>();
    const auto& elems = v.toTupleRef().elements();
    if (tt && tt->elements().size() == elems.size()) {
      std::vector<c10::IValue> out;
      out.reserve(elems.size());
      for (size_t i = 0; i < elems.size(); ++i) {
        out.push_back(retype(elems[i], tt->elements()[i]));
      }
      return c10::ivalue::Tuple::create(std::move(out));
    }
  } else if (v.isGenericDict()) {
    if (auto dt = t->cast<c10::DictType>()) {
      c10::impl::GenericDict out(dt->getKeyType(), dt->getValueType());
      for (const auto& kv : v.toGenericDict()) {
        out.insert(retype(kv.key(), dt->getKeyType()), retype(kv.value(), dt->getValueType()));
      }
      return out;
    }
  }
  return v;
}

std::vector<c10::IValue> positional_args(const c10::IValue& inputs) {
  if (inputs.isTuple()) {
    return inputs.toTupleRef().elements().vec();
  }
  if (inputs.isList()) {
    return inputs.toListRef().vec();
  }
  return {inputs}; // a single argument saved bare
}

c10::IValue to_device(const c10::IValue& v, const c10::Device& device) {
  if (v.isTensor()) {
    return v.toTensor().to(device);
  }
  if (v.isList()) {
    auto list = v.toList();
    c10::impl::GenericList out(list.elementType());
    for (const c10::IValue& e : list) {
      out.push_back(to_device(e, device));
    }
    return out;
  }
  if (v.isTuple()) {
    std::vector<c10::IValue> out;
    for (const c10::IValue& e : v.toTupleRef().elements()) {
      out.push_back(to_device(e, device));
    }
    return c10::ivalue::Tuple::create(std::move(out));
  }
  if (v.isGenericDict()) {
    auto dict = v.toGenericDict();
    c10::impl::GenericDict out(dict.keyType(), dict.valueType());
    for (const auto& kv : dict) {
      out.insert(kv.key(), to_device(kv.value(), device));
    }
    return out;
  }
  return v;
}

c10::IValue run_torchscript(const std::string& path, std::vector<c10::IValue> args, const c10::Device& device) {
  torch::jit::Module module = torch::jit::load(path, device);
  module.eval();
  torch::jit::Method forward = module.get_method("forward");
  const auto& schema = forward.function().getSchema();
  // arguments()[0] is self.
  const size_t n_params = schema.arguments().size() - 1;
  if (args.size() > n_params) {
    throw std::runtime_error(
        "the inputs hold " + std::to_string(args.size()) + " arguments but forward takes " + std::to_string(n_params));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    args[i] = to_device(retype(args[i], schema.arguments()[i + 1].type()), device);
  }
  return to_device(forward(std::move(args)), c10::Device(c10::kCPU));
}

c10::IValue run_aoti(const std::string& path, const std::vector<c10::IValue>& args, const c10::Device& device) {
#ifdef FASTPREP_EXAMPLE_AOTI
  std::vector<at::Tensor> tensors;
  for (const c10::IValue& a : args) {
    if (!a.isTensor()) {
      throw std::runtime_error("an AOTInductor package takes tensors only; got a " + a.tagKind());
    }
    tensors.push_back(a.toTensor().to(device));
  }
  torch::inductor::AOTIModelPackageLoader loader(path);
  std::vector<at::Tensor> outputs = loader.run(tensors);
  c10::List<at::Tensor> out;
  for (const at::Tensor& t : outputs) {
    out.push_back(t.cpu());
  }
  return out;
#else
  (void)args;
  (void)device;
  throw std::runtime_error(path + " is an AOTInductor package, but run_pipeline was built without AOTInductor support");
#endif
}

// Asks the dispatcher, not a fastprep header: this is what a service can check at startup.
int print_info() {
  auto handle = c10::Dispatcher::singleton().findSchema({"fastprep::_build_info", ""});
  if (!handle.has_value()) {
    std::cerr << "fastprep ops are not registered: libfastprep was not loaded "
                 "(link it through fastprep::fastprep, which keeps it with --no-as-needed)\n";
    return 1;
  }
  std::cout << handle->typed<std::string()>().call() << "\n";
  return 0;
}

int usage() {
  std::cerr << "usage: run_pipeline [--device DEV] <pipeline.pt|pipeline.pt2> <inputs.pt> <outputs.pt>\n"
               "       run_pipeline --info\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string device_name = "cpu";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--info") {
      return print_info();
    } else if (a == "--device" && i + 1 < argc) {
      device_name = argv[++i];
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3) {
    return usage();
  }
  try {
    const c10::Device device(device_name);
    c10::IValue inputs = torch::jit::pickle_load(read_file(positional[1]));
    std::vector<c10::IValue> args = positional_args(inputs);
    c10::IValue out = ends_with(positional[0], ".pt2") ? run_aoti(positional[0], args, device)
                                                       : run_torchscript(positional[0], std::move(args), device);
    write_file(positional[2], torch::jit::pickle_save(out));
  } catch (const std::exception& e) {
    std::cerr << "run_pipeline: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
