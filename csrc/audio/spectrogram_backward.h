#pragma once
// Gradient of the spectrogram ops w.r.t. the padded frames, shared by the CPU
// and CUDA registrations.

#include <ATen/ATen.h>
#include <c10/util/string_view.h>

#include <optional>

namespace fastprep {
namespace audio {
namespace detail {

at::Tensor spectrogram_backward(const at::Tensor& grad, const at::Tensor& waveform, const at::Tensor& window,
                                const std::optional<at::Tensor>& fb, int64_t n_fft, int64_t hop_length, bool center,
                                c10::string_view pad_mode, std::optional<double> power, int64_t normalized);

} // namespace detail
} // namespace audio
} // namespace fastprep
