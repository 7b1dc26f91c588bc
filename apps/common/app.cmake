# Helpers shared by the command-line apps: signal handling, main(), the
# command-line parse, -X parsing, integers, durations and byte counts, log
# lines (text or JSON).
find_package(Boost REQUIRED COMPONENTS program_options)
add_library(exactly_app_common STATIC ${CMAKE_CURRENT_LIST_DIR}/cli.cc ${CMAKE_CURRENT_LIST_DIR}/command_line.cc
            ${CMAKE_CURRENT_LIST_DIR}/parse.cc ${CMAKE_CURRENT_LIST_DIR}/log.cc)
target_include_directories(exactly_app_common PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(exactly_app_common PUBLIC exactly::kafka Boost::program_options PRIVATE fmt::fmt)
exactly_warnings(exactly_app_common)
