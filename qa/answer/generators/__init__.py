"""Answer backends, one role behind one protocol (`base.Generator`): the extractive reader,
and chat models (llama.cpp in a supervised child process, any OpenAI-compatible server)."""
