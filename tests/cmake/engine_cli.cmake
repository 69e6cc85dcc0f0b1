# craftkit render: exit codes and the messages users act on (JSON paths of layout and data
# problems), PDF and PNG output. See tests/golden/cli_check.sh.
set(cli_check ${CMAKE_CURRENT_SOURCE_DIR}/golden/cli_check.sh)
set(inv ${CMAKE_CURRENT_SOURCE_DIR}/golden/invoice)
set(cli_out ${CMAKE_CURRENT_BINARY_DIR}/cli-out)
file(MAKE_DIRECTORY ${cli_out})
set(cli_env "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
function(craftkit_cli_test name code regex)
  add_test(NAME cli.render.${name} COMMAND ${cli_check} ${code} ${regex} -- $<TARGET_FILE:craftkit> render ${ARGN})
  set_tests_properties(cli.render.${name} PROPERTIES ENVIRONMENT "${cli_env}" LABELS golden TIMEOUT 120)
endfunction()
craftkit_cli_test(pdf 0 "wrote .*invoice.pdf \\(PDF, 1 page"
  --layout ${inv}/layout.json --manifest ${inv}/manifest.json --data ${inv}/data.json -o ${cli_out}/invoice.pdf
  --creation-time 1767225600)
craftkit_cli_test(png 0 "wrote .*invoice.png \\(PNG, 1 page"
  --layout ${inv}/layout.json --data ${inv}/data.json -o ${cli_out}/invoice.png --dpi 30)
craftkit_cli_test(generated 0 "wrote .*generated.pdf"
  --manifest ${inv}/manifest.json --data ${inv}/data.json -o ${cli_out}/generated.pdf)
craftkit_cli_test(bad_layout 1 "layout.body.0: Unknown variable \"customer.nmae\" \\(did you mean \"customer.name\"\\?\\)"
  --layout ${CMAKE_CURRENT_SOURCE_DIR}/data/engine/bad_layout.json --manifest ${inv}/manifest.json -o ${cli_out}/x.pdf)
craftkit_cli_test(bad_data 1 "data.items.0.qty: Expected number"
  --layout ${inv}/layout.json --manifest ${inv}/manifest.json --data ${CMAKE_CURRENT_SOURCE_DIR}/data/engine/bad_data.json
  -o ${cli_out}/x.pdf)
craftkit_cli_test(nul_in_data 1 "data .*nul_data.json:1:[0-9]+: a string contains .u0000 \\(a NUL character\\), which is not accepted"
  --layout ${inv}/layout.json --data ${CMAKE_CURRENT_SOURCE_DIR}/data/engine/nul_data.json -o ${cli_out}/x.pdf)
craftkit_cli_test(bad_json 1 "layout .*:1:"
  --layout ${cli_check} -o ${cli_out}/x.pdf)
craftkit_cli_test(missing_page 1 "page 4 does not exist: the document has 1 page"
  --layout ${inv}/layout.json --data ${inv}/data.json -o ${cli_out}/x.png --page 4)
craftkit_cli_test(usage 2 "need -o and --layout" --data ${inv}/data.json)
# pdf-overlay layouts: --base stands for the base asset (tests/golden/overlay; golden.overlay
# compares the picture).
set(ovl ${CMAKE_CURRENT_SOURCE_DIR}/golden/overlay)
craftkit_cli_test(overlay_pdf 0 "wrote .*overlay.pdf \\(PDF, 1 page"
  --layout ${ovl}/overlay.json --manifest ${ovl}/manifest.json --data ${ovl}/data.json --base ${ovl}/base.pdf
  -o ${cli_out}/overlay.pdf)
craftkit_cli_test(overlay_png 0 "wrote .*overlay.png \\(PNG, 1 page"
  --layout ${ovl}/overlay.json --data ${ovl}/data.json --base ${ovl}/base.pdf -o ${cli_out}/overlay.png --dpi 30)
craftkit_cli_test(overlay_missing_page 1 "page 2 does not exist: the document has 1 page"
  --layout ${ovl}/overlay.json --data ${ovl}/data.json --base ${ovl}/base.pdf -o ${cli_out}/x.png --page 2)
craftkit_cli_test(overlay_needs_base 1 "a pdf-overlay layout needs --base BASE.pdf \\(the PDF \"application\" stands for\\)"
  --layout ${ovl}/overlay.json --data ${ovl}/data.json -o ${cli_out}/x.pdf)
craftkit_cli_test(overlay_broken_base 1 "--base .*overlay.json: the base PDF .*"
  --layout ${ovl}/overlay.json --data ${ovl}/data.json --base ${ovl}/overlay.json -o ${cli_out}/x.pdf)
craftkit_cli_test(overlay_bad_field 1 "layout.fields.0.page: "
  --layout ${CMAKE_CURRENT_SOURCE_DIR}/data/engine/bad_overlay.json --base ${ovl}/base.pdf -o ${cli_out}/x.pdf)
craftkit_cli_test(base_without_overlay 1 "--base is for pdf-overlay layouts only"
  --layout ${inv}/layout.json --data ${inv}/data.json --base ${ovl}/base.pdf -o ${cli_out}/x.pdf)
