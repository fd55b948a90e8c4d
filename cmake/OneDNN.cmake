# Finds the system oneDNN (Debian: libdnnl-dev, oneDNN 2.6) and fails with instructions when it is
# missing, instead of CMake's generic "could not find a package configuration file" wall of text.
find_package(dnnl CONFIG QUIET)
if(NOT dnnl_FOUND)
  message(FATAL_ERROR
    "mobilenet-native needs the oneDNN library and headers (oneDNN 2.x, CPU).\n"
    "  Debian/Ubuntu:  sudo apt-get install -y libdnnl-dev\n"
    "  Elsewhere:      install oneDNN and pass -Ddnnl_DIR=<prefix>/lib/cmake/dnnl\n"
    "  (npm: CMAKE_PREFIX_PATH=<prefix> npm run build)")
endif()
if(dnnl_VERSION VERSION_LESS 2.0 OR NOT dnnl_VERSION VERSION_LESS 3.0)
  message(FATAL_ERROR "mobilenet-native is written for the oneDNN 2.x API; found oneDNN ${dnnl_VERSION}")
endif()
message(STATUS "oneDNN ${dnnl_VERSION} (CPU runtime ${DNNL_CPU_RUNTIME})")

find_package(OpenMP REQUIRED)
