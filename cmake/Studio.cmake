# Helpers every module uses: one place for warnings, sanitizers and test registration.
set(STUDIO_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

function(studio_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${STUDIO_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  studio_sanitize(${name})
endfunction()

# vptr checks are off: they need RTTI of SOCI classes the shared library does not export.
function(studio_sanitize target)
  if(STUDIO_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined -fno-sanitize=vptr)
  endif()
endfunction()

# studio_test(name SOURCES ... DEPS ... [PROPERTIES ...])
function(studio_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${STUDIO_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  studio_sanitize(${name})
  # One label: list-valued properties do not survive gtest_discover_tests' argument passing.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit ${ARG_PROPERTIES})
endfunction()
