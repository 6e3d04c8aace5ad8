"""A local GA4 Data/Admin API emulator for tests and benchmarks."""
