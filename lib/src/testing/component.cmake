# Replay harness and the checkpointed engine behind exactly-replay: the
# engine plus the RocksDB checkpoint store, fed from recorded logs. A
# component of its own so that the log formats stay in the core layer
# (no RocksDB) and the state layer keeps linking the core only.
# exactly_state is defined later (state/ comes after lib/); CMake resolves
# the name at generate time.
file(GLOB EXACTLY_TESTING_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
add_library(exactly_testing STATIC ${EXACTLY_TESTING_SOURCES})
add_library(exactly::testing ALIAS exactly_testing)
target_link_libraries(exactly_testing PUBLIC exactly_log exactly_state exactly_core PRIVATE fmt::fmt)
set_target_properties(exactly_testing PROPERTIES EXPORT_NAME testing OUTPUT_NAME exactly_testing)
exactly_warnings(exactly_testing)
set_property(GLOBAL APPEND PROPERTY EXACTLY_COMPONENTS exactly_testing)
install(TARGETS exactly_testing EXPORT exactlyTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
