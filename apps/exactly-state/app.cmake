# exactly-state: inspect and repair a state directory (the checkpoint
# store) for operators: ls, show, dump, verify, forget, set-offset.
find_package(Boost REQUIRED COMPONENTS program_options)
add_executable(exactly-state
               ${CMAKE_CURRENT_LIST_DIR}/main.cc
               ${CMAKE_CURRENT_LIST_DIR}/options.cc
               ${CMAKE_CURRENT_LIST_DIR}/commands.cc
               ${CMAKE_CURRENT_LIST_DIR}/render.cc)
target_link_libraries(exactly-state PRIVATE exactly::exactly exactly_app_common Boost::program_options fmt::fmt)
exactly_warnings(exactly-state)
install(TARGETS exactly-state RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
