"""Adapters for the peer schedulers the benchmarks compare against."""
