build/tests/bench/relay_interval_bench --json
