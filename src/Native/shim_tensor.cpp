// Tensor creation, metadata, data transfer and conversions.
#include "shim.h"

#include <cstring>
#include <sstream>

namespace {
at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<at::DeviceType>(device_type),
                         static_cast<c10::DeviceIndex>(device_index)));
}
c10::optional<at::Generator> gen(at::Generator* g) {
  if (g == nullptr) return c10::nullopt;
  return *g;
}
}  // namespace

// Copies `nbytes` of host memory into a new CPU tensor of the given dtype and shape.
ATH_API int32_t ath_from_data(const void* data, int64_t nbytes, const int64_t* shape, int32_t ndim,
                              int32_t dtype, TH* out) {
  ATH_TRY
  auto sizes = ath::dims(shape, ndim);
  auto t = at::empty(sizes, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)));
  const int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
  if (expected != nbytes)
    throw std::invalid_argument("data holds " + std::to_string(nbytes) + " bytes but shape " +
                                c10::str(t.sizes()) + " of " + c10::toString(t.scalar_type()) +
                                " needs " + std::to_string(expected));
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
  *out = ath::wrap(std::move(t));
  ATH_CATCH("tensor")
}

ATH_API int32_t ath_copy_to(TH h, void* dst, int64_t nbytes) {
  ATH_TRY
  auto t = ath::ref(h).detach().to(at::kCPU).contiguous();
  const int64_t have = t.numel() * static_cast<int64_t>(t.element_size());
  if (have != nbytes)
    throw std::invalid_argument("destination holds " + std::to_string(nbytes) + " bytes, tensor has " +
                                std::to_string(have));
  if (nbytes > 0) std::memcpy(dst, t.data_ptr(), static_cast<size_t>(nbytes));
  ATH_CATCH("copy_to")
}

// kind: 0 empty, 1 zeros, 2 ones, 3 full(value)
ATH_API int32_t ath_new(int32_t kind, const int64_t* shape, int32_t ndim, double value, int32_t dtype,
                        int32_t device_type, int32_t device_index, TH* out) {
  ATH_TRY
  auto sizes = ath::dims(shape, ndim);
  auto o = options(dtype, device_type, device_index);
  switch (kind) {
    case 0: *out = ath::wrap(at::empty(sizes, o)); break;
    case 1: *out = ath::wrap(at::zeros(sizes, o)); break;
    case 2: *out = ath::wrap(at::ones(sizes, o)); break;
    case 3: *out = ath::wrap(at::full(sizes, value, o)); break;
    default: throw std::invalid_argument("unknown creation kind " + std::to_string(kind));
  }
  ATH_CATCH("new")
}

ATH_API int32_t ath_arange(double start, double end, double step, int32_t dtype, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::arange(start, end, step, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype))));
  ATH_CATCH("arange")
}

ATH_API int32_t ath_linspace(double start, double end, int64_t steps, int32_t dtype, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::linspace(start, end, steps, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype))));
  ATH_CATCH("linspace")
}

ATH_API int32_t ath_eye(int64_t n, int32_t dtype, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::eye(n, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype))));
  ATH_CATCH("eye")
}

// kind: 0 rand, 1 randn
ATH_API int32_t ath_random(int32_t kind, const int64_t* shape, int32_t ndim, int32_t dtype, at::Generator* g,
                           TH* out) {
  ATH_TRY
  auto sizes = ath::dims(shape, ndim);
  auto o = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
  if (kind == 0) *out = ath::wrap(at::rand(sizes, gen(g), o));
  else if (kind == 1) *out = ath::wrap(at::randn(sizes, gen(g), o));
  else throw std::invalid_argument("unknown random kind " + std::to_string(kind));
  ATH_CATCH(kind == 0 ? "rand" : "randn")
}

ATH_API int32_t ath_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim, at::Generator* g,
                            TH* out) {
  ATH_TRY
  *out = ath::wrap(at::randint(low, high, ath::dims(shape, ndim), gen(g), at::TensorOptions().dtype(at::kLong)));
  ATH_CATCH("randint")
}

ATH_API int32_t ath_randperm(int64_t n, at::Generator* g, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::randperm(n, gen(g), at::TensorOptions().dtype(at::kLong)));
  ATH_CATCH("randperm")
}

// Bernoulli draws with per-element probabilities taken from `probs`.
ATH_API int32_t ath_bernoulli(TH probs, at::Generator* g, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::bernoulli(ath::ref(probs), gen(g)));
  ATH_CATCH("bernoulli")
}

// In place: kind 0 normal_(a = mean, b = std), 1 uniform_(a = from, b = to).
ATH_API int32_t ath_fill_random_(TH h, int32_t kind, double a, double b, at::Generator* g) {
  ATH_TRY
  auto& t = ath::ref(h);
  if (kind == 0) t.normal_(a, b, gen(g));
  else if (kind == 1) t.uniform_(a, b, gen(g));
  else throw std::invalid_argument("unknown random fill kind " + std::to_string(kind));
  ATH_CATCH(kind == 0 ? "normal_" : "uniform_")
}

// ---- metadata ----
ATH_API int32_t ath_dim(TH h, int32_t* out) {
  ATH_TRY
  *out = static_cast<int32_t>(ath::ref(h).dim());
  ATH_CATCH("dim")
}

ATH_API int32_t ath_shape(TH h, int64_t* out, int32_t capacity) {
  ATH_TRY
  auto s = ath::ref(h).sizes();
  if (static_cast<int32_t>(s.size()) > capacity) throw std::invalid_argument("shape buffer too small");
  for (size_t i = 0; i < s.size(); ++i) out[i] = s[i];
  ATH_CATCH("shape")
}

ATH_API int32_t ath_dtype(TH h, int32_t* out) {
  ATH_TRY
  *out = static_cast<int32_t>(ath::ref(h).scalar_type());
  ATH_CATCH("dtype")
}

ATH_API int32_t ath_device(TH h, int32_t* type, int32_t* index) {
  ATH_TRY
  auto d = ath::ref(h).device();
  *type = static_cast<int32_t>(d.type());
  *index = d.index();
  ATH_CATCH("device")
}

ATH_API int32_t ath_numel(TH h, int64_t* out) {
  ATH_TRY
  *out = ath::ref(h).numel();
  ATH_CATCH("numel")
}

ATH_API int32_t ath_item(TH h, double* out) {
  ATH_TRY
  auto& t = ath::ref(h);
  if (t.numel() != 1)
    throw std::invalid_argument("item() needs a tensor with one element, got shape " + c10::str(t.sizes()));
  *out = t.item<double>();
  ATH_CATCH("item")
}

ATH_API int32_t ath_item_long(TH h, int64_t* out) {
  ATH_TRY
  auto& t = ath::ref(h);
  if (t.numel() != 1)
    throw std::invalid_argument("item() needs a tensor with one element, got shape " + c10::str(t.sizes()));
  *out = t.item<int64_t>();
  ATH_CATCH("item")
}

ATH_API int32_t ath_to_string(TH h, char** out) {
  ATH_TRY
  std::ostringstream s;
  s << ath::ref(h);
  *out = strdup(s.str().c_str());
  ATH_CATCH("to_string")
}

// ---- conversions and copies ----
ATH_API int32_t ath_to(TH h, int32_t dtype, int32_t device_type, int32_t device_index, TH* out) {
  ATH_TRY
  *out = ath::wrap(ath::ref(h).to(options(dtype, device_type, device_index)));
  ATH_CATCH("to")
}

// kind: 0 clone, 1 detach, 2 contiguous, 3 alias (a new handle to the same tensor)
ATH_API int32_t ath_copy_kind(TH h, int32_t kind, TH* out) {
  ATH_TRY
  auto& t = ath::ref(h);
  switch (kind) {
    case 0: *out = ath::wrap(t.clone()); break;
    case 1: *out = ath::wrap(t.detach()); break;
    case 2: *out = ath::wrap(t.contiguous()); break;
    case 3: *out = ath::wrap(t); break;
    default: throw std::invalid_argument("unknown copy kind " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0 ? "clone" : kind == 1 ? "detach" : kind == 2 ? "contiguous" : "alias")
}

ATH_API int32_t ath_copy_(TH dst, TH src) {
  ATH_TRY
  ath::ref(dst).copy_(ath::ref(src));
  ATH_CATCH("copy_")
}

ATH_API int32_t ath_is_same(TH a, TH b, int32_t* out) {
  ATH_TRY
  *out = ath::ref(a).is_same(ath::ref(b)) ? 1 : 0;
  ATH_CATCH("is_same")
}
