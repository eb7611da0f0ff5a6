// Benchmark drivers used by the scripts in bench/ (see docs/BENCHMARKS.md).
print("millwright-bench: see bench/")
