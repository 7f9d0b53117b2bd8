"""Benchmarks of briefqa against the embedding model's own speed (`make bench`)."""
