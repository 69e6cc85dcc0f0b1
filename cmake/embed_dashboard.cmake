# Generates a C file holding every file of dashboard/ (the web dashboard) as a byte array with
# its path and a strong ETag (a SHA-256 prefix of its bytes), so the binary serves the
# dashboard from memory with no files next to it. Run by CMake at build time:
#   cmake -DSRC_DIR=... -DOUT=... -P embed_dashboard.cmake
# Only files with the extensions src/api/dashboard.c knows a Content-Type for are embedded;
# hidden files and anything else (editor backups, notes) are left out.
file(GLOB_RECURSE files RELATIVE ${SRC_DIR}
  ${SRC_DIR}/*.html ${SRC_DIR}/*.css ${SRC_DIR}/*.js ${SRC_DIR}/*.mjs ${SRC_DIR}/*.svg
  ${SRC_DIR}/*.png ${SRC_DIR}/*.ico ${SRC_DIR}/*.json ${SRC_DIR}/*.txt ${SRC_DIR}/*.woff2)
list(SORT files)
set(body "/* Generated from dashboard/ by cmake/embed_dashboard.cmake. Do not edit. */\n#include \"api/dashboard.h\"\n\n")
set(table "")
set(count 0)
foreach(rel ${files})
  if(rel MATCHES "(^|/)\\.")
    continue()
  endif()
  if(NOT rel MATCHES "^[A-Za-z0-9._/-]+$")
    message(FATAL_ERROR "dashboard/${rel}: file names must use [A-Za-z0-9._-] only")
  endif()
  file(READ ${SRC_DIR}/${rel} hex HEX)
  file(SHA256 ${SRC_DIR}/${rel} sha)
  string(LENGTH "${hex}" hexlen)
  math(EXPR size "${hexlen} / 2")
  if(size EQUAL 0)
    set(bytes "0")
  else()
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    # one line per 32 bytes keeps the generated file readable by diff tools
    string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
  endif()
  string(SUBSTRING ${sha} 0 32 etag)
  string(APPEND body "static const unsigned char asset_${count}[] = {\n${bytes}};\n")
  string(APPEND table "    {\"${rel}\", asset_${count}, ${size}, \"\\\"${etag}\\\"\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "no dashboard files found under ${SRC_DIR}")
endif()
string(APPEND body "\nconst dashboard_asset_t dashboard_assets[] = {\n${table}};\nconst int dashboard_assets_count = ${count};\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
