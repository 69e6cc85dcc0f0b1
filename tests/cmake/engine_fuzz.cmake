# libFuzzer target for the layout compiler and expression parser (tests/fuzz/fuzz_layout.c), built
# with clang from the engine's sources (the system libraries are not instrumented) and run for
# half of CRAFTKIT_FUZZ_SECONDS in the sanitizer suite, like the manifest targets (fuzz.cmake).
if(DEFINED CRAFTKIT_FUZZ_SECONDS AND NOT "${CRAFTKIT_FUZZ_SECONDS}" STREQUAL ""
   AND CRAFTKIT_FUZZ_SECONDS GREATER 0)
  find_program(CRAFTKIT_CLANG NAMES clang clang-14 clang-15 clang-16 REQUIRED)
  pkg_check_modules(ENGINE_FUZZ_DEPS REQUIRED jansson glib-2.0 pangocairo pangoft2 libqrencode fontconfig harfbuzz
                    zlib librsvg-2.0 libcurl openssl libjpeg freetype2 icu-uc icu-i18n)
  math(EXPR engine_fuzz_seconds "${CRAFTKIT_FUZZ_SECONDS} / 2")
  if(engine_fuzz_seconds LESS 1)
    set(engine_fuzz_seconds 1)
  endif()
  set(ef_src ${PROJECT_SOURCE_DIR}/tests/fuzz)
  set(ef_bin ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
  # The whole engine (the compiler reaches fonts, PDF/A and e-invoice checks) and every src/
  # module it reaches through its includes; the sRGB profile is the library's generated file.
  include(${CMAKE_CURRENT_LIST_DIR}/lib/source_closure.cmake)
  file(GLOB engine_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/engine/*.c)
  craftkit_source_closure(ef_sources ${engine_sources})
  list(APPEND ef_sources ${ICC_C})
  file(GLOB_RECURSE ef_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.h)
  set(ef_flags -std=c17 -g -O1 -D_GNU_SOURCE -DCRAFTKIT_VERSION="fuzz" -Wall -Wextra -Werror -Wno-unused-parameter
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
      -I${PROJECT_SOURCE_DIR}/src -I${PROJECT_SOURCE_DIR}/include ${ENGINE_FUZZ_DEPS_CFLAGS})
  add_custom_command(
    OUTPUT ${ef_bin}/fuzz_layout
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ef_bin}
    COMMAND ${CRAFTKIT_CLANG} ${ef_flags} ${ef_src}/fuzz_layout.c ${ef_sources}
            ${ENGINE_FUZZ_DEPS_LDFLAGS} ${ZINT_LIB} ${HYPHEN_LIB} -lm -lpthread -o ${ef_bin}/fuzz_layout
    DEPENDS ${ef_src}/fuzz_layout.c ${ef_sources} ${ef_headers}
    COMMENT "clang libFuzzer target fuzz_layout"
    VERBATIM)
  add_custom_target(engine_fuzz_targets ALL DEPENDS ${ef_bin}/fuzz_layout)
  add_dependencies(engine_fuzz_targets craftkit_lib) # generates ${ICC_C}
  file(MAKE_DIRECTORY ${ef_bin}/corpus-layout ${ef_bin}/artifacts-layout)
  add_test(NAME fuzz.layout
    COMMAND ${ef_bin}/fuzz_layout
            -max_total_time=${engine_fuzz_seconds} -timeout=10 -rss_limit_mb=2048 -max_len=16384
            -print_final_stats=1 -dict=${ef_src}/layout.dict
            -artifact_prefix=${ef_bin}/artifacts-layout/
            ${ef_bin}/corpus-layout ${ef_src}/corpus/layout)
  math(EXPR ef_timeout "${engine_fuzz_seconds} + 120")
  set_tests_properties(fuzz.layout PROPERTIES
    TIMEOUT ${ef_timeout}
    LABELS fuzz
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
endif()
