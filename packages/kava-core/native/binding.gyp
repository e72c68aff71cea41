# The optional native fast path: float32 matrix products on the system's OpenBLAS, called on
# zero-copy views of tfjs tensors. Built by scripts/build-native.mjs (npm postinstall /
# `npm run build:native`), which finds OpenBLAS and passes its include and library folders in
# the environment (KAVA_BLAS_INCLUDE, KAVA_BLAS_LIBDIR) so this file stays declarative.
{
  "targets": [
    {
      "target_name": "kava_native",
      "sources": ["src/addon.cc", "src/matmul.cc", "src/elementwise.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.KAVA_BLAS_INCLUDE || '/usr/include'\")"
      ],
      "libraries": [
        "-L<!(node -p \"process.env.KAVA_BLAS_LIBDIR || '/usr/lib'\")",
        "-Wl,-rpath,<!(node -p \"process.env.KAVA_BLAS_LIBDIR || '/usr/lib'\")",
        "-lopenblas"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-trapping-math"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
