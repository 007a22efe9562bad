"""Discover: search the Hub for GGUF repos and which of their files run on this box, before downloading."""
