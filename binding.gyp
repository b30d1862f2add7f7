{
  "targets": [
    {
      "target_name": "batcoder_kernels",
      "sources": ["native/binding.cc", "native/kernels.cc", "native/linear.cc", "native/quant.cc", "native/parallel.cc"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/openblas"],
      "libraries": ["-lopenblas", "-lpthread"],
      "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-fno-math-errno", "-fopenmp-simd"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags!": ["-O2"]
    }
  ]
}
