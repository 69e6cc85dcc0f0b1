# PDF/A output of `craftkit render --pdfa`, checked rule by rule with qpdf, xmllint and poppler
# (docs/einvoice.md, "What is enforced"). See tests/pdfa/check_pdfa.py.
add_test(NAME pdfa.structure
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/pdfa/check_pdfa.py $<TARGET_FILE:craftkit>
          ${CMAKE_CURRENT_SOURCE_DIR}/golden/invoice ${CMAKE_CURRENT_BINARY_DIR}/pdfa-out)
set_tests_properties(pdfa.structure PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  LABELS golden TIMEOUT 300)
# An independent Factur-X reader (npm factur-x-kit, tests/package.json) reads back the
# options.facturx invoice and the generated e-invoice. Needs node and tests/node_modules
# (scripts/test-node-deps); "skipped" (exit 77) without them.
find_program(CRAFTKIT_NODE node)
if(NOT CRAFTKIT_NODE)
  set(CRAFTKIT_NODE node)
endif()
add_test(NAME pdfa.facturx_reader
  COMMAND ${CRAFTKIT_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/pdfa/facturx_reader.mjs $<TARGET_FILE:craftkit>
          ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/pdfa-out/reader)
set_tests_properties(pdfa.facturx_reader PROPERTIES
  SKIP_RETURN_CODE 77
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  LABELS golden TIMEOUT 300)
