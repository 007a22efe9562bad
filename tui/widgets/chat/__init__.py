"""The chat screen's widgets: the prompt box, the log, the messages and their Markdown."""
