"""Container Hotfix: edit files of live Docker containers safely.

The package is one core (:mod:`hotfix.service`) over three small adapters
(:mod:`hotfix.engine` for Docker, :mod:`hotfix.gitrepo` for git,
:mod:`hotfix.state` for the SQLite state store), served by two thin front
ends: the ``hotfix`` command line (:mod:`hotfix.cli`) and the language server
(:mod:`hotfix.lsp`).
"""

__version__ = "0.1.0"
