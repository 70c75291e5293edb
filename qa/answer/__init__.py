"""Answer: the engine, readers, generators, citations, verification, timelines."""
