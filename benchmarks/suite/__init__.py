"""asv benchmarks for polyro, parametrized by backend (numpy, torch, jax)."""
