# The layout language's JSON Schema (dashboard/schemas/layout.json, served at
# GET /v1/schemas/layout.json) against the compiler: it accepts every example of
# docs/templates.md and every golden layout, rejects known mistakes, and names every key and
# value of the compiler's tables in src/engine/compile*.c. See tests/schema/layout.mjs.
# Needs node and tests/node_modules (scripts/test-node-deps); "skipped" (exit 77) without them.
find_program(CRAFTKIT_NODE node)
if(NOT CRAFTKIT_NODE)
  set(CRAFTKIT_NODE node)
endif()
add_test(NAME schema.layout COMMAND ${CRAFTKIT_NODE} ${PROJECT_SOURCE_DIR}/tests/schema/layout.mjs ${PROJECT_SOURCE_DIR})
set_tests_properties(schema.layout PROPERTIES
  SKIP_RETURN_CODE 77
  TIMEOUT 120
  LABELS schema
  ENVIRONMENT "NODE_PATH=${PROJECT_SOURCE_DIR}/tests/node_modules")
