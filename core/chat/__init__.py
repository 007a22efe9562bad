"""Chat: backends (Ollama, OpenAI-compatible), sessions, stats, thinking, history in SQLite, export."""
