"""Talking to an Ollama server: host rules, the client, health, pull, import, how `ollama` prints things."""
