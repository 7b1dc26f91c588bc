# exactly-broker: librdkafka's mock Kafka cluster as a process, with fault
# injection commands on stdin.
find_package(Boost REQUIRED COMPONENTS program_options)
add_executable(exactly-broker ${CMAKE_CURRENT_LIST_DIR}/main.cc ${CMAKE_CURRENT_LIST_DIR}/commands.cc)
target_link_libraries(exactly-broker PRIVATE exactly::kafka exactly_app_common Boost::program_options fmt::fmt)
exactly_warnings(exactly-broker)
install(TARGETS exactly-broker RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
