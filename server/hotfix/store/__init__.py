"""The state store: checkpoints, the journal, intents (SQLite + blobs), and settling what a dead process left."""
