// Every vision schema, in one place. Kernels live in cpu/ and cuda/; fake
// kernels in fastprep/_ops/vision.py (set_python_module points there).
#include <torch/library.h>

namespace fastprep {
namespace vision {

TORCH_LIBRARY_FRAGMENT(fastprep, m) {
  m.set_python_module("fastprep._ops.vision");
  // Integer input is scaled by 1/max (ToDtype(scale=True)); all math rounds to the output dtype.
  m.def("normalize(Tensor input, float[] mean, float[] std, ScalarType? dtype=None) -> Tensor");
  m.def(
      "normalize.out(Tensor input, float[] mean, float[] std, *, Tensor(a!) out) -> Tensor(a!)");
  // Windows may extend past the image; the outside is zero-filled, as torchvision's crop pads.
  // SymInt windows: under torch.compile a window computed from the image size stays symbolic (no
  // recompile per size); kernels still take int64_t, and TorchScript / C++ pass plain ints.
  m.def("crop(Tensor input, SymInt top, SymInt left, SymInt height, SymInt width) -> Tensor");
  m.def("horizontal_flip(Tensor input) -> Tensor");
  m.def("vertical_flip(Tensor input) -> Tensor");
  m.def(
      "crop_mirror_normalize(Tensor input, SymInt top, SymInt left, SymInt height, SymInt width, "
      "bool flip_horizontal=False, bool flip_vertical=False, float[]? mean=None, float[]? std=None, "
      "bool scale=True, ScalarType? dtype=None, bool input_hwc=False, bool channels_last=False, "
      "float[]? fill=None, bool fast=False) -> Tensor");
  // Per-sample windows [N, 4] int64 (top, left, height, width) and flips [N, 2] bool (horizontal, vertical).
  m.def(
      "crop_mirror_normalize.batched(Tensor input, Tensor windows, Tensor flips, SymInt height, SymInt width, "
      "float[]? mean=None, float[]? std=None, bool scale=True, ScalarType? dtype=None, bool input_hwc=False, "
      "bool channels_last=False, float[]? fill=None, bool fast=False) -> Tensor");
  // Eager Compose fast path: RandomCrop + flips drawn inside the op (torchvision's draws, in order) and the
  // fused kernel, one call. Not traceable (it reads the global generator): compile/script use the ops above.
  m.def(
      "_random_crop_mirror_normalize(Tensor input, int[] crop, float[] flip_p, int[] flip_horizontal, "
      "float[]? mean=None, float[]? std=None, bool scale=True, ScalarType? dtype=None, float[]? fill=None) -> Tensor",
      {at::Tag::nondeterministic_seeded});
}

} // namespace vision
} // namespace fastprep
