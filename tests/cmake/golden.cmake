# Golden tests of the document engine: every tests/golden/<case>/ with an expect.json is rendered
# and checked with poppler (pdfinfo, pdftotext, pdffonts, pdftoppm + pixel diff), and every
# example of docs/templates.md is compiled and rendered. See tests/golden/golden_check.c.
add_executable(golden_check ${CMAKE_CURRENT_SOURCE_DIR}/golden/golden_check.c)
target_link_libraries(golden_check PRIVATE craftkit_lib)

set(GOLDEN_ENV "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
file(GLOB golden_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/golden/*)
foreach(dir ${golden_cases})
  if(IS_DIRECTORY ${dir} AND EXISTS ${dir}/expect.json)
    get_filename_component(name ${dir} NAME)
    add_test(NAME golden.${name} COMMAND golden_check ${dir} ${CMAKE_CURRENT_BINARY_DIR}/golden-out/${name})
    set_tests_properties(golden.${name} PROPERTIES ENVIRONMENT "${GOLDEN_ENV}" LABELS golden TIMEOUT 300)
  endif()
endforeach()

add_test(NAME docs.templates COMMAND golden_check --docs ${PROJECT_SOURCE_DIR}/docs/templates.md
         ${CMAKE_CURRENT_BINARY_DIR}/golden-out/docs)
set_tests_properties(docs.templates PROPERTIES ENVIRONMENT "${GOLDEN_ENV}" LABELS golden TIMEOUT 300)

# The pixel golden of a pdf-overlay page (tests/golden/overlay/, no expect.json: rendered by
# `craftkit render --base` to PNG through poppler, then compared by golden_check --compare).
add_test(NAME golden.overlay COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/golden/overlay_check.sh $<TARGET_FILE:craftkit>
         $<TARGET_FILE:golden_check> ${CMAKE_CURRENT_SOURCE_DIR}/golden/overlay ${CMAKE_CURRENT_BINARY_DIR}/golden-out/overlay)
set_tests_properties(golden.overlay PROPERTIES ENVIRONMENT "${GOLDEN_ENV}" LABELS golden TIMEOUT 300)
