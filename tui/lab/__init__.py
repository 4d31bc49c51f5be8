"""Off the runtime path: the private cluster, the demo, the seed system, the benchmarks."""
