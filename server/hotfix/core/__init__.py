"""Core: the types, errors and pure helpers every layer shares. Imports nothing of hotfix above it."""
