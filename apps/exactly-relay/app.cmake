# exactly-relay: the dedup relay (input topics -> re-stamped output topic),
# with an embedded demo (mock cluster, traffic generator, verification).
find_package(Boost REQUIRED COMPONENTS program_options)
file(GLOB EXACTLY_RELAY_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
add_executable(exactly-relay ${EXACTLY_RELAY_SOURCES})
target_link_libraries(exactly-relay PRIVATE exactly::exactly exactly_app_common Boost::program_options fmt::fmt
                                            Threads::Threads)
exactly_warnings(exactly-relay)
install(TARGETS exactly-relay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
