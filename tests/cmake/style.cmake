# One style, checked by tools: every C file is formatted by .clang-format (Debian 12's
# clang-format 14; scripts/deps installs it for the test command). A user's build without it
# only loses this check.
find_program(CLANG_FORMAT clang-format)
if(CLANG_FORMAT)
  add_test(NAME style.format COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/style/check_format.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(style.format PROPERTIES LABELS style ENVIRONMENT "CLANG_FORMAT=${CLANG_FORMAT}")
else()
  message(STATUS "clang-format not found: the style.format test is skipped")
endif()

# Layers that the includes obey: no module includes one of a higher layer (order in the script).
add_test(NAME style.layers COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/style/check_layers.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(style.layers PROPERTIES LABELS style)

# Small functions: none in src/ over 100 lines without a comment saying why it is long.
add_test(NAME style.long_functions COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/style/check_long_functions.sh
         ${PROJECT_SOURCE_DIR})
set_tests_properties(style.long_functions PROPERTIES LABELS style)
