// Errors, handles, library-wide settings (threads, grad mode, seeds, devices, version).
#include "shim.h"

#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/api/include/torch/version.h>
#include <atomic>
#include <cstring>

namespace {
thread_local std::string last_error;
std::atomic<int64_t> live_tensors{0};
}  // namespace

namespace ath {
void set_error(const char* op, const std::string& message) {
  last_error = std::string(op) + ": " + message;
}

TH wrap(at::Tensor t) {
  if (!t.defined()) return nullptr;
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return new at::Tensor(std::move(t));
}

at::Tensor& ref(TH h) {
  if (h == nullptr) throw std::invalid_argument("a tensor argument was null (disposed or never created)");
  return *h;
}

std::vector<int64_t> dims(const int64_t* values, int32_t count) {
  if (count < 0) throw std::invalid_argument("negative dimension count");
  if (count > 0 && values == nullptr) throw std::invalid_argument("null dimension list");
  return std::vector<int64_t>(values, values + count);
}

c10::optional<at::Tensor> opt(TH h) {
  if (h == nullptr) return c10::nullopt;
  return *h;
}
}  // namespace ath

ATH_API const char* ath_last_error() { return last_error.c_str(); }

ATH_API int32_t ath_abi_version() { return ATH_ABI_VERSION; }

ATH_API const char* ath_torch_version() { return TORCH_VERSION; }

ATH_API int64_t ath_live_tensors() { return live_tensors.load(std::memory_order_relaxed); }

ATH_API void ath_free(TH h) {
  if (h == nullptr) return;
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
  delete h;
}

ATH_API int32_t ath_set_num_threads(int32_t n) {
  ATH_TRY
  if (n < 1) throw std::invalid_argument("thread count must be at least 1, got " + std::to_string(n));
  at::set_num_threads(n);
  ATH_CATCH("set_num_threads")
}

ATH_API int32_t ath_get_num_threads() { return at::get_num_threads(); }

ATH_API int32_t ath_set_grad_enabled(int32_t enabled) {
  ATH_TRY
  at::GradMode::set_enabled(enabled != 0);
  ATH_CATCH("set_grad_enabled")
}

ATH_API int32_t ath_is_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }

ATH_API int32_t ath_manual_seed(uint64_t seed) {
  ATH_TRY
  at::manual_seed(seed);
  ATH_CATCH("manual_seed")
}

ATH_API int32_t ath_cuda_device_count(int32_t* out) {
  ATH_TRY
  *out = at::hasCUDA() ? static_cast<int32_t>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  ATH_CATCH("cuda_device_count")
}

// ---- generators: explicit random streams, so a seeded method never touches global state ----
ATH_API int32_t ath_generator_new(uint64_t seed, at::Generator** out) {
  ATH_TRY
  *out = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed));
  ATH_CATCH("generator_new")
}

ATH_API void ath_generator_free(at::Generator* g) { delete g; }

ATH_API int32_t ath_string_free(char* s) {
  std::free(s);
  return 0;
}
