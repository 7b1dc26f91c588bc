# exactly-replay: recorded logs (kcat -C -J layout) through the engine,
# with checkpoints, without Kafka. DESIGN.md §6.
find_package(Boost REQUIRED COMPONENTS program_options)
add_executable(exactly-replay
               ${CMAKE_CURRENT_LIST_DIR}/main.cc
               ${CMAKE_CURRENT_LIST_DIR}/options.cc
               ${CMAKE_CURRENT_LIST_DIR}/progress.cc
               ${CMAKE_CURRENT_LIST_DIR}/replay.cc
               ${CMAKE_CURRENT_LIST_DIR}/stats.cc)
target_link_libraries(exactly-replay PRIVATE exactly::exactly exactly_app_common Boost::program_options fmt::fmt)
exactly_warnings(exactly-replay)
install(TARGETS exactly-replay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
