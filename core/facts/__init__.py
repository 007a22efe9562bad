"""What a model is: GGUF headers, Hugging Face configs, Ollama /api/show, the catalog, ggml/quant types."""
