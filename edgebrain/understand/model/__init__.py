"""Choosing with the model: the fixed prompt and its KV cache, the registry grammar, the decoder, the planner."""
