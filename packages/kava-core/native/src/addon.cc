// Node entry point of the native fast path. JavaScript passes ArrayBuffers (the wasm heap, or the
// buffers behind cpu-backend tensors) with byte offsets, so no tensor data is copied. Every
// extent is checked against its buffer before BLAS touches memory: a wrong offset is an
// exception, never a silent overwrite of the heap.
#include <napi.h>
#include <cblas.h>

#include <cstdlib>
#include <string>

#include "elementwise.h"
#include "matmul.h"

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

// One BLAS thread unless the user chose otherwise: Node has its own threads, and spinning BLAS
// workers fight them (measured: one thread was as fast or faster end to end, and stable).
int ConfigureThreads() {
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && std::getenv("OMP_NUM_THREADS") == nullptr) {
    openblas_set_num_threads(1);
  }
  return openblas_get_num_threads();
}

// setThreads(n): BLAS threads for the next products (JavaScript decides per product: see
// runtime/blas-threads.ts). Returns the count in effect.
Napi::Value SetThreadsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber() || Int(info, 0) < 1) {
    Napi::TypeError::New(env, "setThreads: expected a positive integer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  openblas_set_num_threads(static_cast<int>(Int(info, 0)));
  return Napi::Number::New(env, openblas_get_num_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const int threads = ConfigureThreads();
  exports.Set("matmul", Napi::Function::New(env, MatmulJs, "matmul"));
  exports.Set("exp", Napi::Function::New(env, ExpJs, "exp"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsJs, "setThreads"));
  Napi::Object blas = Napi::Object::New(env);
  blas.Set("library", "OpenBLAS");
  blas.Set("config", std::string(openblas_get_config()));
  blas.Set("core", std::string(openblas_get_corename()));
  blas.Set("threads", threads);
  exports.Set("blas", blas);
  return exports;
}

}  // namespace

NODE_API_MODULE(kava_native, Init)
