"""Start-up: the `hotfix` entry point, the resident process it hands commands to, and its runtime directory."""
