# Finds the system oneDNN (Debian: libdnnl-dev, oneDNN 2.6) and fails with instructions when it is
# missing, instead of CMake's generic "could not find a package configuration file" wall of text.
find_package(dnnl CONFIG QUIET)
if(NOT dnnl_FOUND)
  # The same text as binding.gyp's check (scripts/check-onednn.js).
  file(READ ${CMAKE_CURRENT_LIST_DIR}/onednn-missing.txt ONEDNN_MISSING)
  message(FATAL_ERROR "${ONEDNN_MISSING}")
endif()
if(dnnl_VERSION VERSION_LESS 2.0 OR NOT dnnl_VERSION VERSION_LESS 3.0)
  message(FATAL_ERROR "mobilenet-native is written for the oneDNN 2.x API; found oneDNN ${dnnl_VERSION}")
endif()
message(STATUS "oneDNN ${dnnl_VERSION} (CPU runtime ${DNNL_CPU_RUNTIME})")

find_package(OpenMP REQUIRED)
