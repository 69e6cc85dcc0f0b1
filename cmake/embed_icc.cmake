# Generates a C file holding the sRGB ICC profile that PDF/A output embeds as its OutputIntent
# (docs/einvoice.md), so the binary needs no profile file at run time. The profile comes from
# Debian's icc-profiles-free (build set in scripts/deps; zlib licence). Run by CMake at build time:
#   cmake -DICC=/usr/share/color/icc/sRGB.icc -DOUT=... -P embed_icc.cmake
file(READ ${ICC} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " bytes "${bytes}")
file(WRITE ${OUT}.tmp "/* Generated from ${ICC} by cmake/embed_icc.cmake. Do not edit. */\n#include <stddef.h>\n\nconst unsigned char pdfa_srgb_icc[] = {\n    ${bytes}\n};\nconst size_t pdfa_srgb_icc_len = ${len};\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
