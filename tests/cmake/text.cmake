# Text extraction order of right-to-left text (issue 15 item 8): pdftotext and MuPDF read
# Arabic and Hebrew in logical order. See tests/text/rtl_extract.py and engine/bidiext.
add_test(NAME golden.rtl_extract
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/text/rtl_extract.py $<TARGET_FILE:craftkit>
          ${CMAKE_CURRENT_SOURCE_DIR}/data/rtl ${CMAKE_CURRENT_BINARY_DIR}/rtl-out)
set_tests_properties(golden.rtl_extract PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
  LABELS golden TIMEOUT 300)
