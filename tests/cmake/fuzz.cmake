# libFuzzer runs of the manifest compiler and validator (tests/fuzz/).
#
# Only when CRAFTKIT_FUZZ_SECONDS is set and positive (scripts/test sets 60 in its sanitizer
# build). The targets are compiled by clang straight from source — src/manifest/*.c plus every
# src/ module they reach through their includes (lib/source_closure.cmake), with
# -fsanitize=fuzzer,address,undefined — whatever compiler builds the rest, so
# coverage and sanitizers see the real code. Each target then runs for CRAFTKIT_FUZZ_SECONDS/2
# seconds from the seed corpus; any crash, leak, sanitizer report or broken invariant fails
# the test and leaves the input in build/.../fuzz/artifacts-<target>/.
if(DEFINED CRAFTKIT_FUZZ_SECONDS AND NOT "${CRAFTKIT_FUZZ_SECONDS}" STREQUAL ""
   AND CRAFTKIT_FUZZ_SECONDS GREATER 0)
  find_program(CRAFTKIT_CLANG NAMES clang clang-14 clang-15 clang-16 REQUIRED)
  pkg_check_modules(FUZZ_DEPS REQUIRED jansson glib-2.0 icu-uc icu-i18n)
  math(EXPR fuzz_seconds_each "${CRAFTKIT_FUZZ_SECONDS} / 2")
  if(fuzz_seconds_each LESS 1)
    set(fuzz_seconds_each 1)
  endif()

  set(fuzz_src ${PROJECT_SOURCE_DIR}/tests/fuzz)
  set(fuzz_bin ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
  include(${CMAKE_CURRENT_LIST_DIR}/lib/source_closure.cmake)
  file(GLOB manifest_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/manifest/*.c)
  craftkit_source_closure(fuzz_lib_sources ${manifest_sources})
  # Rebuild when any header of src/ changes (a new include changes the closure at configure).
  file(GLOB_RECURSE fuzz_lib_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.h)
  set(fuzz_flags -std=c17 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
      -I${PROJECT_SOURCE_DIR}/src -I${PROJECT_SOURCE_DIR}/include ${FUZZ_DEPS_CFLAGS})

  set(fuzz_outputs "")
  foreach(target fuzz_manifest fuzz_validate)
    add_custom_command(
      OUTPUT ${fuzz_bin}/${target}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${fuzz_bin}
      COMMAND ${CRAFTKIT_CLANG} ${fuzz_flags} ${fuzz_src}/${target}.c ${fuzz_lib_sources}
              ${FUZZ_DEPS_LDFLAGS} -lm -o ${fuzz_bin}/${target}
      DEPENDS ${fuzz_src}/${target}.c ${fuzz_src}/fuzz_common.h ${fuzz_lib_sources} ${fuzz_lib_headers}
      COMMENT "clang libFuzzer target ${target}"
      VERBATIM)
    list(APPEND fuzz_outputs ${fuzz_bin}/${target})

    # Corpus dirs: new inputs go to the build tree; the committed seeds are only read.
    string(REPLACE "fuzz_" "" area ${target})
    file(MAKE_DIRECTORY ${fuzz_bin}/corpus-${area} ${fuzz_bin}/artifacts-${area})
    add_test(NAME fuzz.${area}
      COMMAND ${fuzz_bin}/${target}
              -max_total_time=${fuzz_seconds_each} -timeout=10 -rss_limit_mb=2048 -max_len=8192
              -print_final_stats=1 -dict=${fuzz_src}/manifest.dict
              -artifact_prefix=${fuzz_bin}/artifacts-${area}/
              ${fuzz_bin}/corpus-${area} ${fuzz_src}/corpus/${area})
    math(EXPR fuzz_timeout "${fuzz_seconds_each} + 120")
    set_tests_properties(fuzz.${area} PROPERTIES
      TIMEOUT ${fuzz_timeout}
      LABELS fuzz
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endforeach()
  add_custom_target(fuzz_targets ALL DEPENDS ${fuzz_outputs})
endif()
