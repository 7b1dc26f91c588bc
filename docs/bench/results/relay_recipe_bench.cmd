build/tests/bench/relay_recipe_bench --json
