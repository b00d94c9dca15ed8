"""Container Hotfix: edit files of live Docker containers safely.

The package is one core (:mod:`hotfix.service.files`) over three small adapters
(:mod:`hotfix.docker.engine` for Docker, :mod:`hotfix.git.repo` for git,
:mod:`hotfix.store.state` for the SQLite state store), served by two thin front
ends: the ``hotfix`` command line (:mod:`hotfix.cli.commands`) and the language server
(:mod:`hotfix.lsp`).
"""

__version__ = "0.1.0"
