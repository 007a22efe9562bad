"""Discover: find GGUF models on the Hub (or ModelScope) and plan each file from its header read by ranges."""
