"""A hotfix's life from live to shipped (issue #17): its stage, derived from the journal,
the Engine and git; the successor of a recreated container; carrying a lost hotfix onto it."""
