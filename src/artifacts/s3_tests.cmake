# Included by this directory's CMakeLists.txt when present: the S3 artifact store against a real
# s3rver (npm, pinned in package.json) with Debian's awscli v2 reading and writing the other side.
if(TARGET studio_artifacts AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/s3_store.cc)
  find_program(STUDIO_NODE node)
  # Debian's awscli v2; the `aws` first in PATH on this machine is pyenv's v1.
  set(STUDIO_AWS_CLI /usr/bin/aws CACHE FILEPATH "awscli used by the S3 interoperability tests")
  if(STUDIO_NODE)
    studio_test(s3_store_test SOURCES s3_store_test.cc DEPS studio_artifacts
      PROPERTIES TIMEOUT 300)
    target_compile_definitions(s3_store_test PRIVATE
      STUDIO_REPO_ROOT="${CMAKE_SOURCE_DIR}"
      STUDIO_NODE="${STUDIO_NODE}"
      STUDIO_AWS_CLI="${STUDIO_AWS_CLI}")
  else()
    message(STATUS "node not found: s3_store_test is not built (run scripts/install-deps.sh)")
  endif()
endif()
