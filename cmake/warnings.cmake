# Warnings live in an INTERFACE target that every protos7 target links privately.
add_library(protos7_warnings INTERFACE)
add_library(protos7::warnings ALIAS protos7_warnings)
target_compile_options(protos7_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wdouble-promotion
  -Wimplicit-fallthrough -Wformat=2
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wlogical-op -Wuseless-cast>
  $<$<BOOL:${PROTOS7_WERROR}>:-Werror>)
