"""Git access for the release side (GitPython behind one small class)."""
