// Node entry point of the native fast path. JavaScript passes ArrayBuffers (the wasm heap, or the
// buffers behind cpu-backend tensors) with byte offsets, so no tensor data is copied. Every
// extent is checked against its buffer before BLAS touches memory: a wrong offset is an
// exception, never a silent overwrite of the heap.
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "adamw.h"
#include "blas.h"
#include "elementwise.h"
#include "matmul.h"
#include "reduce.h"
#include "rms_norm.h"
#include "rope.h"
#include "softmax.h"
#include "swiglu.h"

namespace {

// Returns a pointer to `count` floats at `byteOffset` in `value` (an ArrayBuffer), or nullptr
// after throwing a JavaScript error when they do not fit.
float* FloatsAt(Napi::Env env, const Napi::Value& value, int64_t byteOffset, int64_t count, const char* what) {
  if (!value.IsArrayBuffer()) {
    Napi::TypeError::New(env, std::string(what) + ": expected an ArrayBuffer").ThrowAsJavaScriptException();
    return nullptr;
  }
  Napi::ArrayBuffer buf = value.As<Napi::ArrayBuffer>();
  const int64_t size = static_cast<int64_t>(buf.ByteLength());
  if (byteOffset < 0 || byteOffset % 4 != 0 || count < 0 || byteOffset + count * 4 > size) {
    Napi::RangeError::New(env, std::string(what) + ": " + std::to_string(count) + " floats at byte " +
                                   std::to_string(byteOffset) + " do not fit in a buffer of " +
                                   std::to_string(size) + " bytes")
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  // An empty buffer may have no data pointer; nothing is read from or written to it, but the
  // callers take nullptr to mean "error thrown".
  static float none = 0.0f;
  if (buf.Data() == nullptr) return &none;
  return reinterpret_cast<float*>(static_cast<uint8_t*>(buf.Data()) + byteOffset);
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

// matmul(aBuf, aOff, bBuf, bOff, cBuf, cOff, batch, m, n, k, transA, transB, strideA, strideB,
//        biasBuf | null, biasOff, biasLen, activation, alpha)
Napi::Value MatmulJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 19) {
    Napi::TypeError::New(env, "matmul: expected 19 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  kava::MatmulArgs p{};
  p.batch = Int(info, 6);
  p.m = Int(info, 7);
  p.n = Int(info, 8);
  p.k = Int(info, 9);
  p.transA = info[10].ToBoolean().Value();
  p.transB = info[11].ToBoolean().Value();
  p.strideA = Int(info, 12);
  p.strideB = Int(info, 13);
  p.biasLen = Int(info, 16);
  const int64_t act = Int(info, 17);
  p.alpha = static_cast<float>(info[18].As<Napi::Number>().DoubleValue());
  if (p.batch < 1 || p.m < 0 || p.n < 0 || p.k < 0 || p.strideA < 0 || p.strideB < 0 || act < 0 || act > 5 ||
      (p.biasLen != 0 && p.biasLen != 1 && p.biasLen != p.n)) {
    Napi::RangeError::New(env, "matmul: invalid sizes, strides, bias length or activation").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  p.activation = static_cast<kava::Activation>(act);
  const int64_t aCount = (p.batch - 1) * p.strideA + p.m * p.k;
  const int64_t bCount = (p.batch - 1) * p.strideB + p.k * p.n;
  p.a = FloatsAt(env, info[0], Int(info, 1), aCount, "matmul a");
  if (p.a == nullptr) return env.Undefined();
  p.b = FloatsAt(env, info[2], Int(info, 3), bCount, "matmul b");
  if (p.b == nullptr) return env.Undefined();
  p.c = FloatsAt(env, info[4], Int(info, 5), p.batch * p.m * p.n, "matmul c");
  if (p.c == nullptr) return env.Undefined();
  if (p.biasLen > 0) {
    p.bias = FloatsAt(env, info[14], Int(info, 15), p.biasLen, "matmul bias");
    if (p.bias == nullptr) return env.Undefined();
  }
  kava::Matmul(p);
  return env.Undefined();
}

// exp(inBuf, inOff, outBuf, outOff, n): out = exp(in), elementwise.
Napi::Value ExpJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 5) {
    Napi::TypeError::New(env, "exp: expected 5 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t n = Int(info, 4);
  const float* in = FloatsAt(env, info[0], Int(info, 1), n, "exp input");
  if (in == nullptr) return env.Undefined();
  float* out = FloatsAt(env, info[2], Int(info, 3), n, "exp output");
  if (out == nullptr) return env.Undefined();
  kava::Exp(in, out, n);
  return env.Undefined();
}

// sumAxes(inBuf, inOff, outBuf, outOff, outer, reduced, inner): x as [outer, reduced, inner],
// out[o, j] = sum over r of x[o, r, j].
Napi::Value SumAxesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7) {
    Napi::TypeError::New(env, "sumAxes: expected 7 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t outer = Int(info, 4);
  const int64_t reduced = Int(info, 5);
  const int64_t inner = Int(info, 6);
  if (outer < 0 || reduced < 0 || inner < 0) {
    Napi::RangeError::New(env, "sumAxes: negative extent").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* in = FloatsAt(env, info[0], Int(info, 1), outer * reduced * inner, "sumAxes input");
  if (in == nullptr) return env.Undefined();
  float* out = FloatsAt(env, info[2], Int(info, 3), outer * inner, "sumAxes output");
  if (out == nullptr) return env.Undefined();
  kava::SumAxes(in, out, outer, reduced, inner);
  return env.Undefined();
}

// rmsNorm(xBuf, xOff, wBuf, wOff, yBuf, yOff, rows, d, eps)
Napi::Value RmsNormJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 9) {
    Napi::TypeError::New(env, "rmsNorm: expected 9 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t rows = Int(info, 6);
  const int64_t d = Int(info, 7);
  const float eps = static_cast<float>(info[8].As<Napi::Number>().DoubleValue());
  if (rows < 0 || d < 1) {
    Napi::RangeError::New(env, "rmsNorm: invalid extent").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* x = FloatsAt(env, info[0], Int(info, 1), rows * d, "rmsNorm x");
  if (x == nullptr) return env.Undefined();
  const float* w = FloatsAt(env, info[2], Int(info, 3), d, "rmsNorm weight");
  if (w == nullptr) return env.Undefined();
  float* y = FloatsAt(env, info[4], Int(info, 5), rows * d, "rmsNorm y");
  if (y == nullptr) return env.Undefined();
  kava::RmsNorm(x, w, y, rows, d, eps);
  return env.Undefined();
}

// rmsNormGrad(dyBuf, dyOff, xBuf, xOff, wBuf, wOff, dxBuf, dxOff, dwBuf, dwOff, rows, d, eps)
Napi::Value RmsNormGradJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) {
    Napi::TypeError::New(env, "rmsNormGrad: expected 13 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t rows = Int(info, 10);
  const int64_t d = Int(info, 11);
  const float eps = static_cast<float>(info[12].As<Napi::Number>().DoubleValue());
  if (rows < 0 || d < 1) {
    Napi::RangeError::New(env, "rmsNormGrad: invalid extent").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* dy = FloatsAt(env, info[0], Int(info, 1), rows * d, "rmsNormGrad dy");
  if (dy == nullptr) return env.Undefined();
  const float* x = FloatsAt(env, info[2], Int(info, 3), rows * d, "rmsNormGrad x");
  if (x == nullptr) return env.Undefined();
  const float* w = FloatsAt(env, info[4], Int(info, 5), d, "rmsNormGrad weight");
  if (w == nullptr) return env.Undefined();
  float* dx = FloatsAt(env, info[6], Int(info, 7), rows * d, "rmsNormGrad dx");
  if (dx == nullptr) return env.Undefined();
  float* dw = FloatsAt(env, info[8], Int(info, 9), d, "rmsNormGrad dw");
  if (dw == nullptr) return env.Undefined();
  kava::RmsNormGrad(dy, x, w, dx, dw, rows, d, eps);
  return env.Undefined();
}

// swiglu(gateBuf, gateOff, upBuf, upOff, yBuf, yOff, n)
Napi::Value SwigluJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7) {
    Napi::TypeError::New(env, "swiglu: expected 7 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t n = Int(info, 6);
  const float* gate = FloatsAt(env, info[0], Int(info, 1), n, "swiglu gate");
  if (gate == nullptr) return env.Undefined();
  const float* up = FloatsAt(env, info[2], Int(info, 3), n, "swiglu up");
  if (up == nullptr) return env.Undefined();
  float* y = FloatsAt(env, info[4], Int(info, 5), n, "swiglu y");
  if (y == nullptr) return env.Undefined();
  kava::Swiglu(gate, up, y, n);
  return env.Undefined();
}

// swigluGrad(dyBuf, dyOff, gateBuf, gateOff, upBuf, upOff, dgBuf, dgOff, duBuf, duOff, n)
Napi::Value SwigluGradJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 11) {
    Napi::TypeError::New(env, "swigluGrad: expected 11 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t n = Int(info, 10);
  const float* dy = FloatsAt(env, info[0], Int(info, 1), n, "swigluGrad dy");
  if (dy == nullptr) return env.Undefined();
  const float* gate = FloatsAt(env, info[2], Int(info, 3), n, "swigluGrad gate");
  if (gate == nullptr) return env.Undefined();
  const float* up = FloatsAt(env, info[4], Int(info, 5), n, "swigluGrad up");
  if (up == nullptr) return env.Undefined();
  float* dg = FloatsAt(env, info[6], Int(info, 7), n, "swigluGrad dgate");
  if (dg == nullptr) return env.Undefined();
  float* du = FloatsAt(env, info[8], Int(info, 9), n, "swigluGrad dup");
  if (du == nullptr) return env.Undefined();
  kava::SwigluGrad(dy, gate, up, dg, du, n);
  return env.Undefined();
}

// rope(xBuf, xOff, cosBuf, cosOff, sinBuf, sinOff, yBuf, yOff, batch, heads, seq, d, backward):
// x (or dy when backward) [batch, heads, seq, d], cos/sin [batch, seq, d].
Napi::Value RopeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) {
    Napi::TypeError::New(env, "rope: expected 13 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t batch = Int(info, 8);
  const int64_t heads = Int(info, 9);
  const int64_t seq = Int(info, 10);
  const int64_t d = Int(info, 11);
  const bool backward = info[12].ToBoolean().Value();
  if (batch < 0 || heads < 0 || seq < 0 || d < 2 || d % 2 != 0) {
    Napi::RangeError::New(env, "rope: invalid extent (d must be even)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const float* x = FloatsAt(env, info[0], Int(info, 1), batch * heads * seq * d, "rope x");
  if (x == nullptr) return env.Undefined();
  const float* cos = FloatsAt(env, info[2], Int(info, 3), batch * seq * d, "rope cos");
  if (cos == nullptr) return env.Undefined();
  const float* sin = FloatsAt(env, info[4], Int(info, 5), batch * seq * d, "rope sin");
  if (sin == nullptr) return env.Undefined();
  float* y = FloatsAt(env, info[6], Int(info, 7), batch * heads * seq * d, "rope y");
  if (y == nullptr) return env.Undefined();
  if (backward) {
    kava::RopeGrad(x, cos, sin, y, batch, heads, seq, d);
  } else {
    kava::Rope(x, cos, sin, y, batch, heads, seq, d);
  }
  return env.Undefined();
}

// adamw(pBuf, pOff, gBuf, gOff, mBuf, mOff, vBuf, vOff, pOutBuf, pOutOff, mOutBuf, mOutOff,
//       vOutBuf, vOutOff, n, lr, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, c1, c2, decay)
Napi::Value AdamWJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 24) {
    Napi::TypeError::New(env, "adamw: expected 24 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t n = Int(info, 14);
  const char* names[7] = {"adamw param", "adamw grad", "adamw m", "adamw v", "adamw param out", "adamw m out",
                          "adamw v out"};
  float* ptr[7];
  for (int t = 0; t < 7; ++t) {
    ptr[t] = FloatsAt(env, info[2 * t], Int(info, 2 * t + 1), n, names[t]);
    if (ptr[t] == nullptr) return env.Undefined();
  }
  const auto num = [&](size_t i) { return static_cast<float>(info[i].As<Napi::Number>().DoubleValue()); };
  const kava::AdamWArgs args{num(15), num(16), num(17), num(18), num(19), num(20), num(21), num(22), num(23)};
  kava::AdamW(ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], n, args);
  return env.Undefined();
}

// maskedSoftmax(xBuf, xOff, biasBuf, biasOff, outBuf, outOff, batch, heads, rows, cols, scale,
//               dyBuf | null, dyOff): forward, or with dy the gradient in x (written to out).
Napi::Value MaskedSoftmaxJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) {
    Napi::TypeError::New(env, "maskedSoftmax: expected 13 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t batch = Int(info, 6);
  const int64_t heads = Int(info, 7);
  const int64_t rows = Int(info, 8);
  const int64_t cols = Int(info, 9);
  const float scale = static_cast<float>(info[10].As<Napi::Number>().DoubleValue());
  if (batch < 0 || heads < 0 || rows < 0 || cols < 1) {
    Napi::RangeError::New(env, "maskedSoftmax: invalid extent").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t n = batch * heads * rows * cols;
  const float* x = FloatsAt(env, info[0], Int(info, 1), n, "maskedSoftmax x");
  if (x == nullptr) return env.Undefined();
  const float* bias = FloatsAt(env, info[2], Int(info, 3), batch * rows * cols, "maskedSoftmax bias");
  if (bias == nullptr) return env.Undefined();
  float* out = FloatsAt(env, info[4], Int(info, 5), n, "maskedSoftmax out");
  if (out == nullptr) return env.Undefined();
  if (info[11].IsNull()) {
    kava::MaskedSoftmax(x, bias, out, batch, heads, rows, cols, scale);
    return env.Undefined();
  }
  const float* dy = FloatsAt(env, info[11], Int(info, 12), n, "maskedSoftmax dy");
  if (dy == nullptr) return env.Undefined();
  kava::MaskedSoftmaxGrad(dy, x, bias, out, batch, heads, rows, cols, scale);
  return env.Undefined();
}

// The BLAS named by KAVA_BLAS (openblas | portable) and KAVA_GEMM_ISA, else the best built in.
// Returns an empty string, or why the named one cannot be used (then the default stays).
std::string ConfigureBlas() {
  const char* library = std::getenv("KAVA_BLAS");
  const char* isa = std::getenv("KAVA_GEMM_ISA");
  const std::string want = library != nullptr && *library != '\0' ? library : "";
  const std::string why = want.empty() ? "" : kava::blas::SelectBlas(want, isa != nullptr ? isa : "");
  if (want.empty() || !why.empty()) {
    if (!kava::blas::SelectBlas("openblas", "").empty() &&
        !kava::blas::SelectBlas("portable", isa != nullptr ? isa : "").empty()) {
      kava::blas::SelectBlas("portable", "");
    }
  }
  return why;
}

// One BLAS thread unless the user chose otherwise: Node has its own threads, and spinning BLAS
// workers fight them (measured: one thread was as fast or faster end to end, and stable).
int ConfigureThreads() {
  const char* fixed = std::getenv("OPENBLAS_NUM_THREADS");
  if (fixed == nullptr) fixed = std::getenv("OMP_NUM_THREADS");
  return kava::blas::SetThreads(fixed == nullptr ? 1 : std::max(1, std::atoi(fixed)));
}

// setThreads(n): BLAS threads for the next products (JavaScript decides per product: see
// runtime/blas-threads.ts). Returns the count in effect.
Napi::Value SetThreadsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber() || Int(info, 0) < 1) {
    Napi::TypeError::New(env, "setThreads: expected a positive integer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, kava::blas::SetThreads(static_cast<int>(Int(info, 0))));
}

Napi::Object Describe(Napi::Env env, const std::string& note) {
  const kava::blas::Info info = kava::blas::Describe();
  Napi::Object blas = Napi::Object::New(env);
  blas.Set("library", info.library);
  blas.Set("config", info.config);
  blas.Set("core", info.core);
  blas.Set("threads", kava::blas::Threads());
  if (!note.empty()) blas.Set("note", note);
  return blas;
}

// selectBlas(library, isa): "openblas" | "portable", isa "" | "avx512" | "avx2" | "generic".
// Returns the new description; throws (and keeps the current BLAS) when the choice is not
// available. For benchmarks and tests; users set KAVA_BLAS / KAVA_GEMM_ISA.
Napi::Value SelectBlasJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "selectBlas: expected (library, isa) strings").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int threads = kava::blas::Threads();
  const std::string why = kava::blas::SelectBlas(info[0].As<Napi::String>(), info[1].As<Napi::String>());
  if (!why.empty()) {
    Napi::Error::New(env, "selectBlas: " + why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  kava::blas::SetThreads(threads);
  Napi::Object blas = Describe(env, "");
  info.This().As<Napi::Object>().Set("blas", blas);
  return blas;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const std::string note = ConfigureBlas();
  ConfigureThreads();
  exports.Set("matmul", Napi::Function::New(env, MatmulJs, "matmul"));
  exports.Set("exp", Napi::Function::New(env, ExpJs, "exp"));
  exports.Set("sumAxes", Napi::Function::New(env, SumAxesJs, "sumAxes"));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNormJs, "rmsNorm"));
  exports.Set("rmsNormGrad", Napi::Function::New(env, RmsNormGradJs, "rmsNormGrad"));
  exports.Set("swiglu", Napi::Function::New(env, SwigluJs, "swiglu"));
  exports.Set("rope", Napi::Function::New(env, RopeJs, "rope"));
  exports.Set("adamw", Napi::Function::New(env, AdamWJs, "adamw"));
  exports.Set("maskedSoftmax", Napi::Function::New(env, MaskedSoftmaxJs, "maskedSoftmax"));
  exports.Set("swigluGrad", Napi::Function::New(env, SwigluGradJs, "swigluGrad"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsJs, "setThreads"));
  exports.Set("selectBlas", Napi::Function::New(env, SelectBlasJs, "selectBlas"));
  exports.Set("blas", Describe(env, note.empty() ? "" : "KAVA_BLAS/KAVA_GEMM_ISA ignored: " + note));
  return exports;
}

}  // namespace

NODE_API_MODULE(kava_native, Init)
