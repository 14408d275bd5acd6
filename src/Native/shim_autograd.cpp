// Autograd: requires_grad, grad, backward, autograd::grad and tensor gradient hooks.
#include "shim.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>

ATH_API void ath_free(TH h);

ATH_API int32_t ath_requires_grad(TH h, int32_t* out) {
  ATH_TRY
  *out = ath::ref(h).requires_grad() ? 1 : 0;
  ATH_CATCH("requires_grad")
}

ATH_API int32_t ath_set_requires_grad(TH h, int32_t value) {
  ATH_TRY
  ath::ref(h).requires_grad_(value != 0);
  ATH_CATCH("requires_grad_")
}

ATH_API int32_t ath_is_leaf(TH h, int32_t* out) {
  ATH_TRY
  *out = ath::ref(h).is_leaf() ? 1 : 0;
  ATH_CATCH("is_leaf")
}

// *out is null when the tensor has no gradient.
ATH_API int32_t ath_grad(TH h, TH* out) {
  ATH_TRY
  *out = ath::wrap(ath::ref(h).grad());
  ATH_CATCH("grad")
}

// Clears .grad (value == null) or replaces it. As in PyTorch, a replacement must match the tensor's shape,
// dtype and device: libtorch's C++ API does not check, and a mismatched .grad fails (or silently keeps the
// wrong dtype) only at the next backward.
ATH_API int32_t ath_set_grad(TH h, TH value) {
  ATH_TRY
  auto& t = ath::ref(h);
  if (value == nullptr) {
    t.mutable_grad().reset();
  } else {
    const auto& g = ath::ref(value);
    if (!g.sizes().equals(t.sizes()))
      throw std::invalid_argument("assigned grad has shape " + c10::str(g.sizes()) + " but the tensor has shape " +
                                  c10::str(t.sizes()));
    if (g.scalar_type() != t.scalar_type())
      throw std::invalid_argument(std::string("assigned grad has dtype ") + c10::toString(g.scalar_type()) +
                                  " but the tensor has dtype " + c10::toString(t.scalar_type()));
    if (g.device() != t.device())
      throw std::invalid_argument("assigned grad is on " + g.device().str() + " but the tensor is on " +
                                  t.device().str());
    t.mutable_grad() = g;
  }
  ATH_CATCH("set_grad")
}

ATH_API int32_t ath_retain_grad(TH h) {
  ATH_TRY
  ath::ref(h).retain_grad();
  ATH_CATCH("retain_grad")
}

ATH_API int32_t ath_backward(TH h, TH gradient, int32_t retain_graph, int32_t create_graph) {
  ATH_TRY
  const auto& t = ath::ref(h);
  if (gradient == nullptr && t.numel() != 1)
    throw std::invalid_argument("backward() without a gradient needs a scalar output, got shape " +
                                c10::str(t.sizes()) + "; pass a gradient of the same shape");
  c10::optional<bool> retain;
  if (retain_graph >= 0) retain = retain_graph != 0;
  t.backward(gradient == nullptr ? at::Tensor() : *gradient, retain, create_graph != 0);
  ATH_CATCH("backward")
}

// retain_graph < 0 means "same as create_graph" (PyTorch's default). results[i] is null when
// inputs[i] is unused and allow_unused is set.
ATH_API int32_t ath_autograd_grad(const TH* outputs, int32_t n_out, const TH* inputs, int32_t n_in,
                                  const TH* grad_outputs, int32_t retain_graph, int32_t create_graph,
                                  int32_t allow_unused, TH* results) {
  ATH_TRY
  std::vector<at::Tensor> outs, ins, gouts;
  for (int32_t i = 0; i < n_out; ++i) outs.push_back(ath::ref(outputs[i]));
  for (int32_t i = 0; i < n_in; ++i) ins.push_back(ath::ref(inputs[i]));
  if (grad_outputs != nullptr)
    for (int32_t i = 0; i < n_out; ++i)
      gouts.push_back(grad_outputs[i] == nullptr ? at::Tensor() : *grad_outputs[i]);
  for (int32_t i = 0; i < n_out; ++i)
    if ((grad_outputs == nullptr || grad_outputs[i] == nullptr) && outs[i].numel() != 1)
      throw std::invalid_argument("grad can be implicitly created only for scalar outputs; output " +
                                  std::to_string(i) + " has shape " + c10::str(outs[i].sizes()) +
                                  ", pass grad_outputs");
  c10::optional<bool> retain;
  if (retain_graph >= 0) retain = retain_graph != 0;
  auto grads = torch::autograd::grad(outs, ins, gouts, retain, create_graph != 0, allow_unused != 0);
  for (int32_t i = 0; i < n_in; ++i) results[i] = ath::wrap(grads[static_cast<size_t>(i)]);
  ATH_CATCH("autograd.grad")
}

// A gradient hook implemented in .NET. It receives a new handle to the incoming gradient (which
// it owns) and may set *replacement to a NEW handle whose ownership passes to the shim (which frees it
// after taking the tensor), so the managed side never has to keep anything alive past the callback.
// A non-zero return means the managed hook failed: backward stops with an error, the managed
// side keeps the exception and rethrows it.
typedef int32_t (*ath_grad_hook)(int64_t context, TH grad, TH* replacement);

ATH_API int32_t ath_register_hook(TH h, ath_grad_hook fn, int64_t context, int64_t* hook_id) {
  ATH_TRY
  if (fn == nullptr) throw std::invalid_argument("null hook function");
  auto& t = ath::ref(h);
  if (!t.requires_grad()) throw std::invalid_argument("cannot register a hook on a tensor that doesn't require grad");
  *hook_id = static_cast<int64_t>(t.register_hook([fn, context](const at::Tensor& grad) -> at::Tensor {
    TH replacement = nullptr;
    const int32_t status = fn(context, ath::wrap(grad), &replacement);
    if (status != 0) throw std::runtime_error("a managed gradient hook failed");
    if (replacement == nullptr) return at::Tensor();
    at::Tensor result = *replacement;
    ath_free(replacement);
    return result;
  }));
  ATH_CATCH("register_hook")
}

ATH_API int32_t ath_remove_hook(TH h, int64_t hook_id) {
  ATH_TRY
  ath::ref(h).remove_hook(static_cast<unsigned>(hook_id));
  ATH_CATCH("remove_hook")
}
