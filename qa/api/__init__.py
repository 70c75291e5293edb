"""The HTTP service: JSON and streaming answers, OpenAI-compatible chat, documents, the chat page.

The engine (embedder, index, answer backends) is opened once in `lifespan`; every blocking call
runs in a worker thread, answers behind a semaphore of `max_concurrency`, writes one at a time.
`app.py` builds the application, `deps.py` holds what handlers depend on, `errors.py` maps
errors to JSON, `models.py` the response models, `routes/` one router per area.
"""

from qa.api.app import create_app, serve, server_config

__all__ = ["create_app", "serve", "server_config"]
