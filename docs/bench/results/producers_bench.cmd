build/tests/bench/producers_bench --json
