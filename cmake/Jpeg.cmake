# Finds the system libjpeg (Debian: libjpeg62-turbo-dev) for the JPEG fast path of the image stage
# (native/image/jpeg.cc), and fails with what to install, as cmake/OneDNN.cmake does for oneDNN.
find_package(JPEG QUIET)
if(NOT JPEG_FOUND)
  file(READ ${CMAKE_CURRENT_LIST_DIR}/jpeg-missing.txt JPEG_MISSING)
  message(FATAL_ERROR "${JPEG_MISSING}")
endif()
message(STATUS "libjpeg ${JPEG_VERSION} (${JPEG_LIBRARIES})")
