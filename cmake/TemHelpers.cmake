# Helper functions shared by every folder's CMakeLists.txt.

# Warnings used by every tem target.
function(tem_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(TEM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# tem_add_library(NAME ALIAS SOURCES...): a static library with the repository root on its
# include path, so headers are included as "lang/lexer.h".
function(tem_add_library name alias)
  add_library(${name} STATIC ${ARGN})
  add_library(${alias} ALIAS ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  tem_set_warnings(${name})
endfunction()

# tem_add_unit_test(NAME SOURCES... LIBS ...): one GoogleTest binary registered with CTest.
function(tem_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  tem_set_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "TEM_TESTDATA=${TEM_TESTDATA_DIR}")
endfunction()
