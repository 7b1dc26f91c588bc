# Metrics: a registry of counters, gauges and histograms rendered in the
# Prometheus text format, and an HTTP server for /metrics (cpp-httplib,
# kept out of the public headers).
add_library(exactly_metrics STATIC
            ${CMAKE_CURRENT_LIST_DIR}/registry.cc
            ${CMAKE_CURRENT_LIST_DIR}/exposition.cc
            ${CMAKE_CURRENT_LIST_DIR}/http_server.cc)
add_library(exactly::metrics ALIAS exactly_metrics)
target_link_libraries(exactly_metrics PUBLIC exactly_core PRIVATE PkgConfig::HTTPLIB fmt::fmt Threads::Threads)
set_target_properties(exactly_metrics PROPERTIES EXPORT_NAME metrics OUTPUT_NAME exactly_metrics)
exactly_warnings(exactly_metrics)
set_property(GLOBAL APPEND PROPERTY EXACTLY_COMPONENTS exactly_metrics)
install(TARGETS exactly_metrics EXPORT exactlyTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
