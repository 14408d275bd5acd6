// Tensor operations. Families of ops with one signature share one export and an op code;
// the codes are mirrored in the managed NativeOps enums and must not be renumbered (ABI).
#include "shim.h"

namespace {
std::vector<at::Tensor> list(const TH* hs, int32_t n) {
  if (n < 0) throw std::invalid_argument("negative tensor count");
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v.push_back(ath::ref(hs[i]));
  return v;
}
const char* unary_name(int32_t op) {
  static const char* names[] = {"neg", "abs", "sqrt", "exp", "log", "sign", "relu", "tanh", "sigmoid", "erf",
                                "gelu", "gelu_tanh", "softplus", "rsqrt", "sin", "cos", "square", "log1p",
                                "floor", "ceil", "round", "logical_not", "isnan", "isfinite", "reciprocal",
                                "signbit"};
  return op >= 0 && op < static_cast<int32_t>(sizeof(names) / sizeof(names[0])) ? names[op] : "unary";
}
const char* binary_name(int32_t op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "eq", "ne", "lt", "le", "gt", "ge",
                                "maximum", "minimum", "logical_and", "logical_or", "matmul", "mm", "bmm",
                                "outer", "remainder", "atan2", "rsub", "rdiv", "rpow"};
  return op >= 0 && op < static_cast<int32_t>(sizeof(names) / sizeof(names[0])) ? names[op] : "binary";
}
const char* reduce_name(int32_t op) {
  static const char* names[] = {"sum", "mean", "prod", "amax", "amin", "logsumexp", "any", "all", "std", "var"};
  return op >= 0 && op < static_cast<int32_t>(sizeof(names) / sizeof(names[0])) ? names[op] : "reduce";
}
}  // namespace

// ---- elementwise ----
ATH_API int32_t ath_unary(int32_t op, TH h, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  at::Tensor r;
  switch (op) {
    case 0: r = at::neg(x); break;
    case 1: r = at::abs(x); break;
    case 2: r = at::sqrt(x); break;
    case 3: r = at::exp(x); break;
    case 4: r = at::log(x); break;
    case 5: r = at::sign(x); break;
    case 6: r = at::relu(x); break;
    case 7: r = at::tanh(x); break;
    case 8: r = at::sigmoid(x); break;
    case 9: r = at::erf(x); break;
    case 10: r = at::gelu(x, "none"); break;
    case 11: r = at::gelu(x, "tanh"); break;
    case 12: r = at::softplus(x); break;
    case 13: r = at::rsqrt(x); break;
    case 14: r = at::sin(x); break;
    case 15: r = at::cos(x); break;
    case 16: r = at::square(x); break;
    case 17: r = at::log1p(x); break;
    case 18: r = at::floor(x); break;
    case 19: r = at::ceil(x); break;
    case 20: r = at::round(x); break;
    case 21: r = at::logical_not(x); break;
    case 22: r = at::isnan(x); break;
    case 23: r = at::isfinite(x); break;
    case 24: r = at::reciprocal(x); break;
    case 25: r = at::signbit(x); break;
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
  *out = ath::wrap(std::move(r));
  ATH_CATCH(unary_name(op))
}

ATH_API int32_t ath_softplus(TH h, double beta, double threshold, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::softplus(ath::ref(h), beta, threshold));
  ATH_CATCH("softplus")
}

namespace {
at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::eq(a, b);
    case 6: return at::ne(a, b);
    case 7: return at::lt(a, b);
    case 8: return at::le(a, b);
    case 9: return at::gt(a, b);
    case 10: return at::ge(a, b);
    case 11: return at::maximum(a, b);
    case 12: return at::minimum(a, b);
    case 13: return at::logical_and(a, b);
    case 14: return at::logical_or(a, b);
    case 15: return at::matmul(a, b);
    case 16: return at::mm(a, b);
    case 17: return at::bmm(a, b);
    case 18: return at::outer(a, b);
    case 19: return at::remainder(a, b);
    case 20: return at::atan2(a, b);
    case 21: return at::sub(b, a);
    case 22: return at::div(b, a);
    case 23: return at::pow(b, a);
    default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }
}

at::Tensor binary_scalar(int32_t op, const at::Tensor& a, const at::Scalar& s) {
  switch (op) {
    case 0: return at::add(a, s);
    case 1: return at::sub(a, s);
    case 2: return at::mul(a, s);
    case 3: return at::div(a, s);
    case 4: return at::pow(a, s);
    case 5: return at::eq(a, s);
    case 6: return at::ne(a, s);
    case 7: return at::lt(a, s);
    case 8: return at::le(a, s);
    case 9: return at::gt(a, s);
    case 10: return at::ge(a, s);
    case 11: return at::clamp_min(a, s);
    case 12: return at::clamp_max(a, s);
    case 19: return at::remainder(a, s);
    case 21: return at::rsub(a, s);
    case 22: return at::mul(at::reciprocal(a), s);
    case 23: return at::pow(s, a);
    default: throw std::invalid_argument("binary op " + std::to_string(op) + " has no scalar form");
  }
}

at::Scalar scalar_for(const at::Tensor& a, double s) {
  // Integer tensors combined with an integral scalar stay integral, as in PyTorch.
  if (at::isIntegralType(a.scalar_type(), /*includeBool=*/false) && s == static_cast<double>(static_cast<int64_t>(s)))
    return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}
}  // namespace

ATH_API int32_t ath_binary(int32_t op, TH a, TH b, TH* out) {
  ATH_TRY
  *out = ath::wrap(binary(op, ath::ref(a), ath::ref(b)));
  ATH_CATCH(binary_name(op))
}

ATH_API int32_t ath_binary_scalar(int32_t op, TH a, double s, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(a);
  *out = ath::wrap(binary_scalar(op, x, scalar_for(x, s)));
  ATH_CATCH(binary_name(op))
}

// In place (optimizers, buffers): self op= other. Ops: 0 add (alpha), 1 sub, 2 mul, 3 div, 4 copy.
ATH_API int32_t ath_inplace(int32_t op, TH self, TH other, double alpha) {
  ATH_TRY
  auto& s = ath::ref(self);
  const auto& o = ath::ref(other);
  switch (op) {
    case 0: s.add_(o, alpha); break;
    case 1: s.sub_(o, alpha); break;
    case 2: s.mul_(o); break;
    case 3: s.div_(o); break;
    case 4: s.copy_(o); break;
    default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
  }
  ATH_CATCH("inplace")
}

// In place with a scalar: 0 add_, 1 sub_, 2 mul_, 3 div_, 4 fill_, 5 zero_, 6 pow_
ATH_API int32_t ath_inplace_scalar(int32_t op, TH self, double value) {
  ATH_TRY
  auto& s = ath::ref(self);
  switch (op) {
    case 0: s.add_(value); break;
    case 1: s.sub_(value); break;
    case 2: s.mul_(value); break;
    case 3: s.div_(value); break;
    case 4: s.fill_(value); break;
    case 5: s.zero_(); break;
    case 6: s.pow_(value); break;
    default: throw std::invalid_argument("unknown in-place scalar op " + std::to_string(op));
  }
  ATH_CATCH("inplace_scalar")
}

// self += value * t1 * t2 (kind 0) or self += value * t1 / t2 (kind 1)
ATH_API int32_t ath_addc_(int32_t kind, TH self, TH t1, TH t2, double value) {
  ATH_TRY
  if (kind == 0) ath::ref(self).addcmul_(ath::ref(t1), ath::ref(t2), value);
  else ath::ref(self).addcdiv_(ath::ref(t1), ath::ref(t2), value);
  ATH_CATCH(kind == 0 ? "addcmul_" : "addcdiv_")
}

ATH_API int32_t ath_clamp(TH h, double min, int32_t has_min, double max, int32_t has_max, TH* out) {
  ATH_TRY
  c10::optional<at::Scalar> lo, hi;
  if (has_min) lo = at::Scalar(min);
  if (has_max) hi = at::Scalar(max);
  *out = ath::wrap(at::clamp(ath::ref(h), lo, hi));
  ATH_CATCH("clamp")
}

ATH_API int32_t ath_where(TH cond, TH a, TH b, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::where(ath::ref(cond), ath::ref(a), ath::ref(b)));
  ATH_CATCH("where")
}

ATH_API int32_t ath_masked_fill(TH h, TH mask, double value, TH* out) {
  ATH_TRY
  const auto& m = ath::ref(mask);
  // libtorch 1.13's CPU kernel reads any mask as bytes: a float mask of 1.0 (bytes 00 00 80 3f) fills nothing.
  if (m.scalar_type() != at::kBool && m.scalar_type() != at::kByte)
    throw std::invalid_argument(std::string("masked_fill needs a Bool mask, got ") + c10::toString(m.scalar_type()) +
                                "; compare first (e.g. mask.gt(0)) or convert with .to(Bool)");
  *out = ath::wrap(at::masked_fill(ath::ref(h), m, value));
  ATH_CATCH("masked_fill")
}

// ---- reductions ----
// ndims == 0 reduces over every dimension (except logsumexp/std/var, which then use all dims explicitly).
ATH_API int32_t ath_reduce(int32_t op, TH h, const int64_t* dimv, int32_t ndims, int32_t keepdim, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  auto d = ath::dims(dimv, ndims);
  const bool all = d.empty();
  const bool kd = keepdim != 0;
  if (all && (op == 5 || op == 8 || op == 9)) {
    for (int64_t i = 0; i < x.dim(); ++i) d.push_back(i);
  }
  at::Tensor r;
  switch (op) {
    case 0: r = all && !kd ? at::sum(x) : at::sum(x, d, kd); break;
    case 1: r = all && !kd ? at::mean(x) : at::mean(x, d, kd); break;
    case 2:
      if (all) r = at::prod(x);
      else {
        r = x;
        std::sort(d.begin(), d.end(), std::greater<int64_t>());
        for (auto dim : d) r = at::prod(r, dim, kd);
      }
      break;
    case 3: r = at::amax(x, d, kd); break;
    case 4: r = at::amin(x, d, kd); break;
    case 5: r = at::logsumexp(x, d, kd); break;
    case 6:
      if (all) r = at::any(x);
      else {
        if (d.size() != 1) throw std::invalid_argument("any() takes one dimension");
        r = at::any(x, d[0], kd);
      }
      break;
    case 7:
      if (all) r = at::all(x);
      else {
        if (d.size() != 1) throw std::invalid_argument("all() takes one dimension");
        r = at::all(x, d[0], kd);
      }
      break;
    case 8: r = at::std(x, at::OptionalIntArrayRef(d), /*unbiased=*/true, kd); break;
    case 9: r = at::var(x, at::OptionalIntArrayRef(d), /*unbiased=*/true, kd); break;
    default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
  }
  *out = ath::wrap(std::move(r));
  ATH_CATCH(reduce_name(op))
}

// kind 0 max, 1 min, 2 sort (descending flag in `flag`), 3 topk (k in `k`, largest flag in `flag`)
ATH_API int32_t ath_values_indices(int32_t kind, TH h, int64_t dim, int64_t k, int32_t flag, TH* values,
                                   TH* indices) {
  ATH_TRY
  const auto& x = ath::ref(h);
  std::tuple<at::Tensor, at::Tensor> r;
  switch (kind) {
    case 0: r = at::max(x, dim, flag != 0); break;
    case 1: r = at::min(x, dim, flag != 0); break;
    case 2: r = at::sort(x, dim, flag != 0); break;
    case 3: r = at::topk(x, k, dim, flag != 0, true); break;
    default: throw std::invalid_argument("unknown values/indices op " + std::to_string(kind));
  }
  *values = ath::wrap(std::get<0>(r));
  *indices = ath::wrap(std::get<1>(r));
  ATH_CATCH(kind == 0 ? "max" : kind == 1 ? "min" : kind == 2 ? "sort" : "topk")
}

// kind 0 argmax, 1 argmin; has_dim == 0 flattens first.
ATH_API int32_t ath_arg(int32_t kind, TH h, int64_t dim, int32_t has_dim, int32_t keepdim, TH* out) {
  ATH_TRY
  c10::optional<int64_t> d;
  if (has_dim) d = dim;
  *out = ath::wrap(kind == 0 ? at::argmax(ath::ref(h), d, keepdim != 0) : at::argmin(ath::ref(h), d, keepdim != 0));
  ATH_CATCH(kind == 0 ? "argmax" : "argmin")
}

ATH_API int32_t ath_norm(TH h, double p, const int64_t* dimv, int32_t ndims, int32_t keepdim, TH* out) {
  ATH_TRY
  auto d = ath::dims(dimv, ndims);
  const auto& x = ath::ref(h);
  if (d.empty()) *out = ath::wrap(at::norm(x, p));
  else *out = ath::wrap(at::norm(x, p, d, keepdim != 0));
  ATH_CATCH("norm")
}

// kind 0 cumsum, 1 softmax, 2 log_softmax, 3 argsort-free flip
ATH_API int32_t ath_along_dim(int32_t kind, TH h, int64_t dim, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  switch (kind) {
    case 0: *out = ath::wrap(at::cumsum(x, dim)); break;
    case 1: *out = ath::wrap(at::softmax(x, dim)); break;
    case 2: *out = ath::wrap(at::log_softmax(x, dim)); break;
    case 3: *out = ath::wrap(at::flip(x, {dim})); break;
    default: throw std::invalid_argument("unknown along-dim op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0 ? "cumsum" : kind == 1 ? "softmax" : kind == 2 ? "log_softmax" : "flip")
}

// ---- shapes and views ----
// kind 0 reshape, 1 view, 2 permute, 3 expand, 4 repeat
ATH_API int32_t ath_shape_op(int32_t kind, TH h, const int64_t* v, int32_t n, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  auto d = ath::dims(v, n);
  switch (kind) {
    case 0: *out = ath::wrap(x.reshape(d)); break;
    case 1: *out = ath::wrap(x.view(d)); break;
    case 2: *out = ath::wrap(x.permute(d)); break;
    case 3: *out = ath::wrap(x.expand(d)); break;
    case 4: *out = ath::wrap(x.repeat(d)); break;
    default: throw std::invalid_argument("unknown shape op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0 ? "reshape" : kind == 1 ? "view" : kind == 2 ? "permute" : kind == 3 ? "expand" : "repeat")
}

// kind 0 transpose(a,b), 1 squeeze(a) (b != 0: all dims), 2 unsqueeze(a), 3 select(a, b),
// 4 flatten(a, b), 5 repeat_interleave(repeats = a, dim = b), 6 movedim(a, b)
ATH_API int32_t ath_dim_op(int32_t kind, TH h, int64_t a, int64_t b, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  switch (kind) {
    case 0: *out = ath::wrap(x.transpose(a, b)); break;
    case 1: *out = ath::wrap(b != 0 ? x.squeeze() : x.squeeze(a)); break;
    case 2: *out = ath::wrap(x.unsqueeze(a)); break;
    case 3: *out = ath::wrap(x.select(a, b)); break;
    case 4: *out = ath::wrap(x.flatten(a, b)); break;
    case 5: *out = ath::wrap(x.repeat_interleave(a, b)); break;
    case 6: *out = ath::wrap(x.movedim(a, b)); break;
    default: throw std::invalid_argument("unknown dim op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0   ? "transpose"
            : kind == 1 ? "squeeze"
            : kind == 2 ? "unsqueeze"
            : kind == 3 ? "select"
            : kind == 4 ? "flatten"
            : kind == 5 ? "repeat_interleave"
                        : "movedim")
}

ATH_API int32_t ath_slice(TH h, int64_t dim, int64_t start, int64_t end, int64_t step, TH* out) {
  ATH_TRY
  *out = ath::wrap(ath::ref(h).slice(dim, start, end, step));
  ATH_CATCH("slice")
}

ATH_API int32_t ath_narrow(TH h, int64_t dim, int64_t start, int64_t length, TH* out) {
  ATH_TRY
  *out = ath::wrap(ath::ref(h).narrow(dim, start, length));
  ATH_CATCH("narrow")
}

// kind 0 index_select(dim, index), 1 gather(dim, index), 2 repeat_interleave(tensor repeats, dim),
// 3 scatter_add(dim, index, src = extra), 4 index_add(dim, index, src = extra)
ATH_API int32_t ath_index_op(int32_t kind, TH h, int64_t dim, TH index, TH extra, TH* out) {
  ATH_TRY
  const auto& x = ath::ref(h);
  const auto& i = ath::ref(index);
  switch (kind) {
    case 0: *out = ath::wrap(at::index_select(x, dim, i)); break;
    case 1: *out = ath::wrap(at::gather(x, dim, i)); break;
    case 2: *out = ath::wrap(at::repeat_interleave(x, i, dim)); break;
    case 3: *out = ath::wrap(at::scatter_add(x, dim, i, ath::ref(extra))); break;
    case 4: *out = ath::wrap(at::index_add(x, dim, i, ath::ref(extra))); break;
    default: throw std::invalid_argument("unknown index op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0   ? "index_select"
            : kind == 1 ? "gather"
            : kind == 2 ? "repeat_interleave"
            : kind == 3 ? "scatter_add"
                        : "index_add")
}

ATH_API int32_t ath_masked_select(TH h, TH mask, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::masked_select(ath::ref(h), ath::ref(mask)));
  ATH_CATCH("masked_select")
}

// kind 0 cat, 1 stack
ATH_API int32_t ath_join(int32_t kind, const TH* hs, int32_t n, int64_t dim, TH* out) {
  ATH_TRY
  auto v = list(hs, n);
  *out = ath::wrap(kind == 0 ? at::cat(v, dim) : at::stack(v, dim));
  ATH_CATCH(kind == 0 ? "cat" : "stack")
}

ATH_API int32_t ath_einsum(const char* equation, const TH* hs, int32_t n, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::einsum(equation, list(hs, n)));
  ATH_CATCH("einsum")
}

// ---- neural-network functions ----
ATH_API int32_t ath_linear(TH x, TH w, TH b, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::linear(ath::ref(x), ath::ref(w), ath::opt(b)));
  ATH_CATCH("linear")
}

ATH_API int32_t ath_layer_norm(TH x, const int64_t* shape, int32_t n, TH w, TH b, double eps, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::layer_norm(ath::ref(x), ath::dims(shape, n), ath::opt(w), ath::opt(b), eps));
  ATH_CATCH("layer_norm")
}

ATH_API int32_t ath_embedding(TH weight, TH indices, int64_t padding_idx, TH* out) {
  ATH_TRY
  const auto& w = ath::ref(weight);
  const auto& i = ath::ref(indices);
  if (i.numel() > 0 && !at::isFloatingType(i.scalar_type())) {
    // libtorch reports an out-of-range id as "index out of range in self"; say which id and the table size.
    const int64_t lo = i.min().item<int64_t>(), hi = i.max().item<int64_t>();
    if (lo < 0 || hi >= w.size(0))
      throw std::out_of_range("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the embedding table of " +
                              std::to_string(w.size(0)) + " rows");
  }
  *out = ath::wrap(at::embedding(w, i, padding_idx));
  ATH_CATCH("embedding")
}

ATH_API int32_t ath_dropout(TH x, double p, int32_t train, at::Generator* g, TH* out) {
  ATH_TRY
  const auto& t = ath::ref(x);
  if (p < 0 || p > 1) throw std::invalid_argument("dropout probability must be in [0, 1], got " + std::to_string(p));
  if (!train || p == 0) {
    *out = ath::wrap(t);
  } else if (p == 1) {
    // Everything dropped: zeros (keeping the graph), not 0/0 from the rescaling below.
    *out = ath::wrap(t * at::zeros({}, t.options()));
  } else if (g == nullptr) {
    *out = ath::wrap(at::dropout(t, p, true));
  } else {
    auto keep = at::bernoulli(at::full_like(t, 1 - p), *g);
    *out = ath::wrap(t * keep / (1 - p));
  }
  ATH_CATCH("dropout")
}

ATH_API int32_t ath_conv1d(TH x, TH w, TH b, int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
                           TH* out) {
  ATH_TRY
  *out = ath::wrap(at::conv1d(ath::ref(x), ath::ref(w), ath::opt(b), {stride}, {padding}, {dilation}, groups));
  ATH_CATCH("conv1d")
}

ATH_API int32_t ath_max_pool1d(TH x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                               int32_t ceil_mode, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::max_pool1d(ath::ref(x), {kernel}, {stride}, {padding}, {dilation}, ceil_mode != 0));
  ATH_CATCH("max_pool1d")
}

// params: per layer and direction w_ih, w_hh[, b_ih, b_hh]; hx = (h0, c0) each (layers*dirs, batch, hidden).
ATH_API int32_t ath_lstm(TH input, TH h0, TH c0, const TH* params, int32_t nparams, int32_t has_biases,
                         int64_t num_layers, double dropout, int32_t train, int32_t bidirectional, int32_t batch_first,
                         TH* output, TH* hn, TH* cn) {
  ATH_TRY
  std::vector<at::Tensor> hx{ath::ref(h0), ath::ref(c0)};
  auto r = at::lstm(ath::ref(input), hx, list(params, nparams), has_biases != 0, num_layers, dropout, train != 0,
                    bidirectional != 0, batch_first != 0);
  *output = ath::wrap(std::get<0>(r));
  *hn = ath::wrap(std::get<1>(r));
  *cn = ath::wrap(std::get<2>(r));
  ATH_CATCH("lstm")
}

// reduction: 0 none, 1 mean, 2 sum
ATH_API int32_t ath_cross_entropy(TH logits, TH target, TH weight, int32_t reduction, int64_t ignore_index,
                                  double label_smoothing, TH* out) {
  ATH_TRY
  *out = ath::wrap(at::cross_entropy_loss(ath::ref(logits), ath::ref(target), ath::opt(weight), reduction,
                                          ignore_index, label_smoothing));
  ATH_CATCH("cross_entropy")
}

// ---- linear algebra ----
// kind 0 linalg_solve(a, b), 1 cholesky_solve(b = a, L = b), 2 lstsq(a, b).solution
ATH_API int32_t ath_linalg2(int32_t kind, TH a, TH b, int32_t upper, TH* out) {
  ATH_TRY
  switch (kind) {
    case 0: *out = ath::wrap(at::linalg_solve(ath::ref(a), ath::ref(b))); break;
    case 1: *out = ath::wrap(at::cholesky_solve(ath::ref(a), ath::ref(b), upper != 0)); break;
    case 2: *out = ath::wrap(std::get<0>(at::linalg_lstsq(ath::ref(a), ath::ref(b)))); break;
    default: throw std::invalid_argument("unknown linear-algebra op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0 ? "linalg_solve" : kind == 1 ? "cholesky_solve" : "linalg_lstsq")
}

// kind 0 cholesky (upper flag), 1 inverse, 2 det, 3 pinv
ATH_API int32_t ath_linalg1(int32_t kind, TH a, int32_t upper, TH* out) {
  ATH_TRY
  switch (kind) {
    case 0: *out = ath::wrap(at::linalg_cholesky(ath::ref(a), upper != 0)); break;
    case 1: *out = ath::wrap(at::linalg_inv(ath::ref(a))); break;
    case 2: *out = ath::wrap(at::linalg_det(ath::ref(a))); break;
    case 3: *out = ath::wrap(at::linalg_pinv(ath::ref(a))); break;
    default: throw std::invalid_argument("unknown linear-algebra op " + std::to_string(kind));
  }
  ATH_CATCH(kind == 0 ? "cholesky" : kind == 1 ? "inverse" : kind == 2 ? "det" : "pinv")
}
