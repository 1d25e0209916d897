# bench_segmenter: Cutter throughput on an in-memory ~300 MB transport stream.
hlscache_add_bench(bench_segmenter LIBS hlscache_segmenter)
target_sources(bench_segmenter PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/ts_builder.cpp)
target_include_directories(bench_segmenter PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
