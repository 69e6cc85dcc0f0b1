# PDF/A output of `craftkit render --pdfa`, checked rule by rule with qpdf, xmllint and poppler
# (docs/einvoice.md, "What is enforced"). See tests/pdfa/check_pdfa.py.
add_test(NAME pdfa.structure
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/pdfa/check_pdfa.py $<TARGET_FILE:craftkit>
          ${CMAKE_CURRENT_SOURCE_DIR}/golden/invoice ${CMAKE_CURRENT_BINARY_DIR}/pdfa-out)
set_tests_properties(pdfa.structure PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  LABELS golden TIMEOUT 300)
