# Helpers shared by the command-line apps: signal handling, -X parsing,
# durations and byte counts, log lines (text or JSON).
add_library(exactly_app_common STATIC ${CMAKE_CURRENT_LIST_DIR}/cli.cc ${CMAKE_CURRENT_LIST_DIR}/parse.cc
            ${CMAKE_CURRENT_LIST_DIR}/log.cc)
target_include_directories(exactly_app_common PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(exactly_app_common PUBLIC exactly::kafka PRIVATE fmt::fmt)
exactly_warnings(exactly_app_common)
