# Kafka layer: RAII over librdkafka, stamped producer, consumer, mock
# cluster, and the exactly-once consumer loop and relay on top of them.
add_library(exactly_kafka STATIC
            ${CMAKE_CURRENT_LIST_DIR}/handles.cc
            ${CMAKE_CURRENT_LIST_DIR}/config.cc
            ${CMAKE_CURRENT_LIST_DIR}/message.cc
            ${CMAKE_CURRENT_LIST_DIR}/producer.cc
            ${CMAKE_CURRENT_LIST_DIR}/consumer.cc
            ${CMAKE_CURRENT_LIST_DIR}/epoch_dir.cc
            ${CMAKE_CURRENT_LIST_DIR}/stamped_producer.cc
            ${CMAKE_CURRENT_LIST_DIR}/mock_cluster.cc
            ${CMAKE_CURRENT_LIST_DIR}/read_back.cc
            ${CMAKE_CURRENT_LIST_DIR}/dedup_consumer.cc
            ${CMAKE_CURRENT_LIST_DIR}/dedup_checkpoint.cc
            ${CMAKE_CURRENT_LIST_DIR}/dedup_alignment.cc
            ${CMAKE_CURRENT_LIST_DIR}/dedup_rebalance.cc
            ${CMAKE_CURRENT_LIST_DIR}/relay.cc
            ${CMAKE_CURRENT_LIST_DIR}/relay_output.cc
            ${CMAKE_CURRENT_LIST_DIR}/relay_dead_letters.cc
            ${CMAKE_CURRENT_LIST_DIR}/tracked_producer.cc
            ${CMAKE_CURRENT_LIST_DIR}/consumer_metrics.cc)
add_library(exactly::kafka ALIAS exactly_kafka)
target_include_directories(exactly_kafka PRIVATE ${CMAKE_CURRENT_LIST_DIR})
# The consumer loop checkpoints into the RocksDB store (exactly_state links
# only the core, so there is no cycle). exactly_state is defined later
# (state/ comes after lib/); CMake resolves the name at generate time.
target_link_libraries(exactly_kafka PUBLIC exactly_core exactly_state exactly_metrics
                                    PRIVATE PkgConfig::RDKAFKA fmt::fmt Threads::Threads)
set_target_properties(exactly_kafka PROPERTIES EXPORT_NAME kafka OUTPUT_NAME exactly_kafka)
exactly_warnings(exactly_kafka)
set_property(GLOBAL APPEND PROPERTY EXACTLY_COMPONENTS exactly_kafka)
install(TARGETS exactly_kafka EXPORT exactlyTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
