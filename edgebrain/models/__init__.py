"""Model files: the manifest, downloads, GGUF headers, verified files and llama.cpp; nothing here understands."""
