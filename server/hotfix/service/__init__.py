"""The file use cases and going live: read, write, checkpoint, diff, revert, restart + probe."""
