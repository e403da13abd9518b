// CPU registration of the spectrogram backward (math in audio/spectrogram_backward.cpp).
#include <torch/library.h>

#include "audio/spectrogram_backward.h"

namespace fastprep {
namespace audio {

TORCH_LIBRARY_IMPL(fastprep, CPU, m) {
  m.impl("_spectrogram_backward", &detail::spectrogram_backward);
}

} // namespace audio
} // namespace fastprep
