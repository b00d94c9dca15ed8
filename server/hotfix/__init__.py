"""Container Hotfix: edit files of live Docker containers safely.

Layered (docs/architecture.md): ``core`` at the bottom; the adapters ``docker``, ``git``
and ``store``; the use cases ``service`` (files and going live), ``release`` and
``fleet``; the front ends ``cli`` and ``lsp``, started by ``startup``.
"""

__version__ = "0.1.0"
