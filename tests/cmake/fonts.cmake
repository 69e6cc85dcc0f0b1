# Embedded fonts: every glyph of CJK documents reaches the PDF with its whole outline (cairo
# 1.16's CFF subsetter loses subroutines; engine/cfffix.c repairs them). Debian's python3
# (python3-fonttools) and mupdf-tools, from the test set of scripts/deps.
add_test(NAME golden.cff_glyphs COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/fonts/cff_glyphs.py
         $<TARGET_FILE:craftkit> ${CMAKE_CURRENT_BINARY_DIR}/fonts-out/cff_glyphs)
# Sanitizer builds: the library caches that are never freed by design are suppressed, as for
# every other test that runs the binary.
set_tests_properties(golden.cff_glyphs PROPERTIES LABELS golden TIMEOUT 600
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

# craftkit render --assets DIR loads the fonts of DIR (TTF and WOFF2) as uploaded fonts.
add_test(NAME cli.render.assets_fonts COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fonts/cli_assets.sh
         $<TARGET_FILE:craftkit> ${CMAKE_CURRENT_BINARY_DIR}/fonts-out/cli_assets)
set_tests_properties(cli.render.assets_fonts PROPERTIES LABELS golden TIMEOUT 300
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
