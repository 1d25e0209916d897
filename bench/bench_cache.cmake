# Cache micro-benchmarks (the Zipf sampler comes from cachesim's engine).
hlscache_add_bench(bench_cache LIBS hlscache_cache cachesim_lib)
