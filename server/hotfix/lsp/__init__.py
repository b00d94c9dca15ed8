"""The language server: the hotfix protocol over LSP, the editor's only way in.

``hotfix lsp`` → :func:`hotfix.lsp.server.run`. The modules:

- :mod:`.server` — the pygls server, wiring, transports;
- :mod:`.files` — the custom requests (``hotfix/readFile`` …), :mod:`.commands` — the
  ``workspace/executeCommand`` commands, :mod:`.documents` — diagnostics and the watch of
  open documents (:mod:`.watch`);
- :mod:`.uris` — ``hotfix://`` URIs, :mod:`.convert` — VS Code numbers and encodings,
  :mod:`.params` — reading params, :mod:`.errors` — the one error mapping,
  :mod:`.progress` — the service's Progress over work-done progress.
"""
