# Generates a C file holding every migrations/NNNN_*.sql as a string, so the binary carries its
# own schema (no files to ship next to it). Run by CMake at build time:
#   cmake -DSRC_DIR=... -DOUT=... -P embed_migrations.cmake
file(GLOB files ${SRC_DIR}/[0-9][0-9][0-9][0-9]_*.sql)
list(SORT files)
set(body "/* Generated from the SQL files in migrations/ by cmake/embed_migrations.cmake. Do not edit. */\n#include \"db/migrate.h\"\n\nconst migration_t migrations[] = {\n")
set(count 0)
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  string(SUBSTRING ${name} 0 4 version)
  # As a decimal C literal: "0008" would be an (invalid) octal constant, "0010" would be 8.
  math(EXPR version "${version} + 0")
  file(READ ${f} sql)
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n\"" sql "${sql}")
  string(APPEND body "    {${version}, \"${name}\",\n\"${sql}\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\nconst int migrations_count = ${count};\n")
file(WRITE ${OUT}.tmp "${body}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
