# The optional native fast path: float32 matrix products called on zero-copy views of tfjs
# tensors. Built by scripts/build-native.mjs (the package's install script / `npm run
# build:native`), which sets in the environment:
#   KAVA_BLAS_INCLUDE, KAVA_BLAS_LIBDIR: the system OpenBLAS, when one was found; then the addon
#     links it and uses it by default.
# Without them the addon runs on KaVa's portable GEMM alone (src/gemm_kernel.cc), which is
# always built: once per instruction set (the gemm_* targets), picked at run time from the CPU.
{
  "variables": {
    "kava_blas_include%": "<!(node -p \"process.env.KAVA_BLAS_INCLUDE || ''\")",
    "kava_blas_libdir%": "<!(node -p \"process.env.KAVA_BLAS_LIBDIR || ''\")",
    "kava_cflags": ["-O3", "-std=c++17", "-fPIC", "-ffp-contract=fast", "-fno-trapping-math"]
  },
  "target_defaults": {
    "cflags_cc": ["<@(kava_cflags)"],
    "cflags_cc!": ["-fno-exceptions"],
    "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(kava_cflags)"], "GCC_ENABLE_CPP_EXCEPTIONS": "YES" }
  },
  "targets": [
    {
      "target_name": "gemm_generic",
      "type": "static_library",
      "sources": ["src/gemm_kernel.cc"],
      "defines": ["KAVA_GEMM_ISA=generic", "KAVA_GEMM_VL=4"]
    },
    {
      "target_name": "gemm_avx2",
      "type": "static_library",
      "sources": ["src/gemm_kernel.cc"],
      "defines": ["KAVA_GEMM_ISA=avx2", "KAVA_GEMM_VL=8"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "gemm_avx512",
      "type": "static_library",
      "sources": ["src/gemm_kernel.cc"],
      "defines": ["KAVA_GEMM_ISA=avx512", "KAVA_GEMM_VL=16"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "cflags_cc": ["-mavx512f", "-mavx512vl", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512vl", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "kava_native",
      "sources": ["src/addon.cc", "src/blas.cc", "src/matmul.cc", "src/elementwise.cc", "src/reduce.cc", "src/rms_norm.cc", "src/swiglu.cc", "src/rope.cc", "src/adamw.cc", "src/softmax.cc"],
      "dependencies": ["gemm_generic", "gemm_avx2", "gemm_avx512"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "conditions": [
        ["kava_blas_libdir!=''", {
          "include_dirs": ["<(kava_blas_include)"],
          "defines": ["KAVA_HAVE_OPENBLAS"],
          "libraries": ["-L<(kava_blas_libdir)", "-Wl,-rpath,<(kava_blas_libdir)", "-lopenblas"]
        }]
      ]
    }
  ]
}
