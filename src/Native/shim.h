// Attribution native shim: a C ABI over libtorch.
//
// Rules every export follows (see docs/architecture.md):
//  * extern "C", opaque handles and blittable values only;
//  * returns a status (0 = ok, 1 = error); results come back through out-pointers;
//  * catches every exception (c10::Error, std::exception, anything else) and leaves a
//    thread-local message readable with ath_last_error(); nothing ever unwinds into .NET.
#pragma once

#include <ATen/ATen.h>
#include <cstdint>
#include <string>

#define ATH_API extern "C" __attribute__((visibility("default")))

// Bumped whenever an exported signature or an op code changes; the managed side refuses a
// shim whose ABI version differs from the one it was compiled for.
#define ATH_ABI_VERSION 1

typedef at::Tensor* TH;

namespace ath {
void set_error(const char* op, const std::string& message);
// Moves a tensor to the heap; an undefined tensor becomes a null handle.
TH wrap(at::Tensor t);
at::Tensor& ref(TH h);  // throws on a null handle
std::vector<int64_t> dims(const int64_t* values, int32_t count);
c10::optional<at::Tensor> opt(TH h);
}  // namespace ath

#define ATH_TRY try {
#define ATH_CATCH(OPNAME)                                              \
  return 0;                                                            \
  }                                                                    \
  catch (const c10::Error& e) {                                        \
    ath::set_error(OPNAME, e.what_without_backtrace());                \
    return 1;                                                          \
  }                                                                    \
  catch (const std::exception& e) {                                    \
    ath::set_error(OPNAME, e.what());                                  \
    return 1;                                                          \
  }                                                                    \
  catch (...) {                                                        \
    ath::set_error(OPNAME, "unknown native exception");                \
    return 1;                                                          \
  }
