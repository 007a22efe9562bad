"""The command palette (Ctrl+P): every key of every screen as a command, and "go to" a model."""
