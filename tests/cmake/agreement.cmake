# JSON Schema agreement: the server validator and ajv (Draft-07 + ajv-formats) must accept and
# reject the same payloads for every case under tests/data/agreement/ (documented coercion
# cases excepted, and checked as such), and the regex engine must match like JavaScript's
# RegExp with the "u" flag. Needs node and tests/node_modules (scripts/test-node-deps); the
# test reports "skipped" (exit 77) when they are missing.
add_executable(ckagree ${PROJECT_SOURCE_DIR}/tests/agreement/ckagree.c)
target_link_libraries(ckagree PRIVATE craftkit_lib)

find_program(CRAFTKIT_NODE node)
if(NOT CRAFTKIT_NODE)
  set(CRAFTKIT_NODE node)
endif()
add_test(NAME agreement.json_schema
  COMMAND ${CRAFTKIT_NODE} ${PROJECT_SOURCE_DIR}/tests/agreement/agree.mjs
          $<TARGET_FILE:ckagree> ${PROJECT_SOURCE_DIR}/tests/data/agreement)
set_tests_properties(agreement.json_schema PROPERTIES
  SKIP_RETURN_CODE 77
  TIMEOUT 300
  LABELS agreement
  ENVIRONMENT "NODE_PATH=${PROJECT_SOURCE_DIR}/tests/node_modules;LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
