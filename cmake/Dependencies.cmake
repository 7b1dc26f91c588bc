# Every dependency comes from Debian packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
# librdkafka ships pkg-config files but no CMake config.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET GLOBAL rdkafka)
# cpp-httplib (the metrics HTTP server): Debian ships it as a shared
# library with pkg-config flags that must match how it was built.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
