"""llamadeck's pure logic. Nothing here imports Textual or the UI layer."""

__version__ = "0.1.0"
