# Every third-party library comes from Debian's packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)  # target: yaml-cpp
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(GTest CONFIG REQUIRED)

# cpp-httplib is a compiled library on Debian; its pkg-config flags carry the ABI macros.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)

# SOCI ships neither a CMake config nor a .pc file.
find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
find_library(SOCI_CORE_LIB soci_core REQUIRED)
find_library(SOCI_SQLITE3_LIB soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL_LIB soci_postgresql REQUIRED)
add_library(soci_all INTERFACE)
target_include_directories(soci_all SYSTEM INTERFACE ${SOCI_INCLUDE_DIR})
target_link_libraries(soci_all INTERFACE ${SOCI_SQLITE3_LIB} ${SOCI_POSTGRESQL_LIB} ${SOCI_CORE_LIB}
                      PostgreSQL::PostgreSQL SQLite::SQLite3 ${CMAKE_DL_LIBS})

# Serving: XGBoost's CMake config needs the apt package `xgboost` (the CLI) as well; ONNX's
# config needs Protobuf found first. Boost is header-only here (Beast/Asio for the data path).
find_package(xgboost CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(ONNX CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(benchmark CONFIG REQUIRED)
