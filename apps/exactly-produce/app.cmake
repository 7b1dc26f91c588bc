# exactly-produce: like `kcat -P`, but every message carries the exactly
# envelope, and large ones are chunked.
find_package(Boost REQUIRED COMPONENTS program_options)
add_executable(exactly-produce ${CMAKE_CURRENT_LIST_DIR}/main.cc)
target_link_libraries(exactly-produce PRIVATE exactly::kafka exactly_app_common Boost::program_options fmt::fmt)
exactly_warnings(exactly-produce)
install(TARGETS exactly-produce RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
