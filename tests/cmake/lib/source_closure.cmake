# craftkit_source_closure(OUT seed.c...): the seeds plus every src/ file they reach through
# `#include "dir/name.h"` (headers are followed too), where src/dir/name.c exists.
#
# The clang fuzz targets compile their sources straight from src/ (so that coverage and
# sanitizers see the real code) rather than linking the gcc-built library. Hand-kept lists of
# those sources broke the sanitizer build twice, each time a module started calling a new one
# (format.c → decimal.c, then → intl.c); the list is now derived from the includes.
include_guard(GLOBAL)

function(craftkit_source_closure out)
  set(todo ${ARGN})
  set(seen "")
  set(sources "")
  while(todo)
    list(POP_FRONT todo f)
    if(f IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${f})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${f}) # new includes re-run it
    if(f MATCHES "\\.c$")
      list(APPEND sources ${f})
    endif()
    file(STRINGS ${f} includes REGEX "^#include \"[A-Za-z0-9_/]+\\.h\"")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([A-Za-z0-9_/]+)\\.h\".*" "\\1" stem "${line}")
      foreach(ext h c)
        set(dep ${PROJECT_SOURCE_DIR}/src/${stem}.${ext})
        if(EXISTS ${dep} AND NOT dep IN_LIST seen)
          list(APPEND todo ${dep})
        endif()
      endforeach()
    endforeach()
  endwhile()
  set(${out} ${sources} PARENT_SCOPE)
endfunction()
