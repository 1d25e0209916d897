# -DHLSCACHE_SANITIZE=address,undefined (or thread) builds everything with those sanitizers;
# -DHLSCACHE_FUZZ=ON (clang) adds libFuzzer's coverage instrumentation to everything and
# builds the fuzz targets of tests/fuzz/ (address,undefined unless HLSCACHE_SANITIZE says
# otherwise). Runtime options for the test runs: tools/sanitizers/ and docs/fuzzing.md.
set(HLSCACHE_SANITIZE "" CACHE STRING "Comma-separated sanitizers: address,undefined | thread")
option(HLSCACHE_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
add_library(hlscache_sanitizers INTERFACE)
if(HLSCACHE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HLSCACHE_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++): libFuzzer is part of clang")
  endif()
  if(NOT HLSCACHE_SANITIZE)
    set(HLSCACHE_SANITIZE "address,undefined")
  endif()
  target_compile_options(hlscache_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(HLSCACHE_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${HLSCACHE_SANITIZE}")
  foreach(_s IN LISTS _sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "HLSCACHE_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  if("thread" IN_LIST _sanitizers AND "address" IN_LIST _sanitizers)
    message(FATAL_ERROR "HLSCACHE_SANITIZE: thread and address cannot be combined")
  endif()
  target_compile_options(hlscache_sanitizers INTERFACE
    -fsanitize=${HLSCACHE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(hlscache_sanitizers INTERFACE -fsanitize=${HLSCACHE_SANITIZE})
  # clang 14's -fsanitize=function (part of undefined) breaks on C++20 coroutines: "error:
  # Cannot represent a difference across sections" for every Asio awaitable. It checks
  # calls through function pointers of the wrong type, which C++ code here does not make.
  # GCC warns at every Asio fenced block that TSan does not model atomic_thread_fence;
  # Asio's scheduler hands work between threads under its mutex, which TSan does see.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND "thread" IN_LIST _sanitizers)
    target_compile_options(hlscache_sanitizers INTERFACE -Wno-tsan)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND "undefined" IN_LIST _sanitizers)
    target_compile_options(hlscache_sanitizers INTERFACE -fno-sanitize=function)
  endif()
endif()
