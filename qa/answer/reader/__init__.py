"""The learned extractive reader (issue 16): question analysis (questions), spaCy entities
(entities), features, the fitted model (model, reader.json), short answers (short_answer),
follow-ups (followup), the reader itself (reader) and its training (squad, train)."""
