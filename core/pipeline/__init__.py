"""Hugging Face download -> convert_hf_to_gguf.py -> llama-quantize -> Ollama import, with checks."""
