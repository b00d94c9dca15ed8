"""Release use cases: harvest to a branch, a clean image, the incident report."""
