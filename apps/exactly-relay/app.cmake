# exactly-relay: the dedup relay (input topics -> re-stamped output topic),
# with an embedded demo (mock cluster, traffic generator, verification).
# Everything but main() is a static library, compiled once for the binary
# and the integration tests (options, the demo's generator and verifier).
find_package(Boost REQUIRED COMPONENTS program_options)
file(GLOB EXACTLY_RELAY_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
list(REMOVE_ITEM EXACTLY_RELAY_SOURCES ${CMAKE_CURRENT_LIST_DIR}/main.cc)
add_library(exactly_relay_lib STATIC ${EXACTLY_RELAY_SOURCES})
target_include_directories(exactly_relay_lib PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(exactly_relay_lib PUBLIC exactly::exactly exactly_app_common Boost::program_options
                                        PRIVATE fmt::fmt Threads::Threads)
target_compile_definitions(exactly_relay_lib PRIVATE EXACTLY_VERSION="${PROJECT_VERSION}")
exactly_warnings(exactly_relay_lib)
add_executable(exactly-relay ${CMAKE_CURRENT_LIST_DIR}/main.cc)
target_link_libraries(exactly-relay PRIVATE exactly_relay_lib fmt::fmt)
exactly_warnings(exactly-relay)
install(TARGETS exactly-relay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
