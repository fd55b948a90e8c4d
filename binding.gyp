{
  # The same sources as CMakeLists.txt, for users who build with node-gyp (`npx node-gyp rebuild`).
  # cmake-js is the primary build (it finds oneDNN through its CMake package); this file assumes
  # the system oneDNN from Debian's libdnnl-dev and libjpeg from libjpeg62-turbo-dev in the default
  # include and library paths.
  # scripts/check-build-files.js (run in CI) checks that both files list the same sources and defines.
  "targets": [
    {
      "target_name": "mobilenet_native",
      # Fails with what to install (cmake/onednn-missing.txt, as cmake/OneDNN.cmake) when oneDNN is missing.
      "variables": { "onednn_check": "<!(node scripts/check-onednn.js)" },
      "sources": [
        "native/engine/spec.cc",
        "native/engine/network.cc",
        "native/engine/executor.cc",
        "native/onednn/precision.cc",
        "native/onednn/quantize.cc",
        "native/onednn/activation_stats.cc",
        "native/onednn/scale_table.cc",
        "native/onednn/weight_store.cc",
        "native/onednn/arena.cc",
        "native/onednn/layout.cc",
        "native/onednn/plan_builder.cc",
        "native/onednn/profiler.cc",
        "native/onednn/backend.cc",
        "native/image/resize.cc",
        "native/image/jpeg.cc",
        "native/addon/addon.cc",
        "native/addon/convert.cc",
        "native/addon/image.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fopenmp", "-O3", "-ffp-contract=off", "-Wall", "-Wextra"],
      "libraries": ["-ldnnl", "-ljpeg", "-fopenmp"]
    }
  ]
}
