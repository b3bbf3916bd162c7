"""Text to checked commands: the engine's stages over words read in code and the model's choices."""
