# protos7::version: the version and the git revision the binary was built from (`protos7
# --version`, the metrics' protos7_build_info). The revision is read at every build (not only at
# configure time), and the generated source changes only when the revision does, so a build
# after a commit says so without recompiling anything else. Without git (a source tarball) the
# revision is PROTOS7_GIT_REVISION when given, else "unknown".
set(PROTOS7_GIT_REVISION "" CACHE STRING "Revision to report when the source is not a git checkout")
set(_version_cpp ${CMAKE_BINARY_DIR}/generated/protos7_version.cpp)
add_custom_target(protos7_version_source
  COMMAND ${CMAKE_COMMAND} -DOUT=${_version_cpp} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DVERSION=${PROJECT_VERSION} -DFALLBACK=${PROTOS7_GIT_REVISION}
          -P ${PROJECT_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${_version_cpp}
  COMMENT "Reading the git revision"
  VERBATIM)
add_library(protos7_version STATIC ${_version_cpp})
add_dependencies(protos7_version protos7_version_source)
add_library(protos7::version ALIAS protos7_version)
target_include_directories(protos7_version PUBLIC ${PROJECT_SOURCE_DIR}/cmake/include)
