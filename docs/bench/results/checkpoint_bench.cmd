build/tests/bench/checkpoint_bench --benchmark_format=console --benchmark_out=docs/bench/results/checkpoint_bench.gbench.json --benchmark_out_format=json
