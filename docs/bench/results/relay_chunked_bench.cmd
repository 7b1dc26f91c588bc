build/tests/bench/relay_chunked_bench --json
