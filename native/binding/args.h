// args.h — argument checks for the binding layer.
//
// Every function exported to JavaScript reads its arguments through these
// helpers, so a wrong type, a short or detached buffer, a negative size or a
// size product that overflows becomes a JS TypeError/RangeError instead of a
// read past the end of a buffer. TypeScript validates first and with richer
// messages; these checks are the last line for callers of the raw binding.
#pragma once
#include <napi.h>

#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace lw_binding {

// Largest size or dimension accepted (2^31 − 1): sizes beyond this are either
// mistakes or buffers Node cannot allocate anyway, and keeping each factor this
// small lets products of two be formed in int64 without overflow.
constexpr int64_t kMaxDim = INT32_MAX;

[[noreturn]] inline void ThrowType(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void ThrowRange(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

inline void RequireCount(const Napi::CallbackInfo& info, size_t count,
                         const char* fn) {
  if (info.Length() < count)
    ThrowType(info.Env(), std::string(fn) + ": expected " +
                              std::to_string(count) + " arguments but got " +
                              std::to_string(info.Length()));
}

inline Napi::Float32Array Floats(const Napi::CallbackInfo& info, size_t i,
                                 const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() ||
      v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    ThrowType(info.Env(), std::string(name) + " must be a Float32Array");
  return v.As<Napi::Float32Array>();
}

inline Napi::Int32Array Ints(const Napi::CallbackInfo& info, size_t i,
                             const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() ||
      v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowType(info.Env(), std::string(name) + " must be an Int32Array");
  return v.As<Napi::Int32Array>();
}

// Copies a small Int32Array argument (a geometry) into a local array, reading
// each element exactly once. Every check and every use then sees the copy: an
// array living in a SharedArrayBuffer may be rewritten by another thread at any
// moment, so validating the array and then reading it again would let a value
// change between the check and the use (a negative size passing validation).
template <size_t N>
inline std::array<int32_t, N> CopyInts(const Napi::CallbackInfo& info, size_t i,
                                       const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() ||
      v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::TypedArray>().ElementLength() != N)
    ThrowType(info.Env(), std::string(name) + " must be an Int32Array of " +
                              std::to_string(N) + " sizes");
  const int32_t* src = v.As<Napi::Int32Array>().Data();
  std::array<int32_t, N> copy{};
  // Relaxed atomic loads: a racing writer is not undefined behaviour, and the
  // compiler cannot re-read the source later in place of the copy.
  for (size_t f = 0; f < N; ++f) copy[f] = __atomic_load_n(src + f, __ATOMIC_RELAXED);
  return copy;
}

inline int64_t Size(const Napi::CallbackInfo& info, size_t i, const char* name,
                    int64_t min = 0) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == static_cast<double>(static_cast<int64_t>(d))) || d < min ||
      d > static_cast<double>(kMaxDim))
    ThrowRange(info.Env(), std::string(name) + " must be an integer in [" +
                               std::to_string(min) + ", " +
                               std::to_string(kMaxDim) + "]");
  return static_cast<int64_t>(d);
}

inline bool Flag(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsBoolean()) ThrowType(info.Env(), std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline float Scalar(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  // Out-of-range double→float conversion is undefined behaviour in C++; say
  // explicitly that it saturates to ±infinity, as IEEE rounding would.
  if (d > FLT_MAX) return INFINITY;
  if (d < -FLT_MAX) return -INFINITY;
  return static_cast<float>(d);
}

// a·b for sizes already checked to be in [0, kMaxDim]: throws instead of
// overflowing when a chain of products grows past int64.
inline int64_t Product(Napi::Env env, std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(p, f, &p))
      ThrowRange(env, "tensor size overflows 64 bits");
  return p;
}

template <typename TypedArray>
inline void RequireLength(Napi::Env env, const TypedArray& a,
                          int64_t needed, const char* name) {
  if (static_cast<int64_t>(a.ElementLength()) < needed)
    ThrowRange(env, std::string(name) + " holds " +
                        std::to_string(a.ElementLength()) +
                        " elements but the sizes given need " +
                        std::to_string(needed) +
                        (a.ElementLength() == 0 && needed > 0
                             ? " (is its buffer detached?)"
                             : ""));
}

// Outputs the kernel writes while still reading inputs must not share memory
// with them; elementwise kernels that allow it do not call this.
template <typename Out, typename In>
inline void RequireDisjoint(Napi::Env env, const Out& out,
                            const In& in, const char* out_name,
                            const char* in_name) {
  const auto* o = reinterpret_cast<const char*>(out.Data());
  const auto* i = reinterpret_cast<const char*>(in.Data());
  const size_t ob = out.ByteLength(), ib = in.ByteLength();
  if (ob == 0 || ib == 0) return;
  if (o < i + ib && i < o + ob)
    ThrowRange(env, std::string(out_name) + " must not share memory with " + in_name);
}

}  // namespace lw_binding
