# The Docker files, checked without a Docker engine against the real build (tests/docker/check.py):
# package lists against what the binary links and what CMake needs, compose services and the
# settings they pass (docs.settings checks the settings table of docs/operations.md). The
# sanitizer build links libasan, which no image ships, so the check runs in the normal build only.
if(NOT SANITIZE)
  add_test(NAME docker.files COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/docker/check.py
           --binary $<TARGET_FILE:craftkit>)
  set_tests_properties(docker.files PROPERTIES LABELS docker TIMEOUT 300)
  # Both Dockerfile stages built in clean Debian 12 chroots with exactly its package sets
  # (root only; alone, so that its compile does not slow the timing-sensitive tests).
  add_test(NAME docker.chroot COMMAND ${PROJECT_SOURCE_DIR}/tests/docker/chroot_check.sh)
  set_tests_properties(docker.chroot PROPERTIES LABELS docker TIMEOUT 1800 RUN_SERIAL TRUE)
endif()
