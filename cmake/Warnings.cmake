# Warnings for our own code (never for dependencies' headers, which come in as SYSTEM).
add_library(hlscache_warnings INTERFACE)
target_compile_options(hlscache_warnings INTERFACE
  -Wall -Wextra -Wpedantic $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wnon-virtual-dtor -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${HLSCACHE_WERROR}>:-Werror>)
option(HLSCACHE_WERROR "Treat warnings as errors" OFF)
