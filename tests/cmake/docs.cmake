# docs/operations.md's settings table against settings[] in src/core/config.c: every setting
# documented with its default and range, no documented setting the server does not read.
add_test(NAME docs.settings COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/docs/check_settings.py
         ${PROJECT_SOURCE_DIR})
set_tests_properties(docs.settings PROPERTIES LABELS docs)
