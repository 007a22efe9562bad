"""Fakes for what cannot run here: Ollama's binary and an NVIDIA GPU. Nothing else."""
