build/tests/bench/relay_bench --json
