"""The language server: the hotfix protocol over LSP, the editor's only way in.

``hotfix lsp`` → :func:`hotfix.lsp.main.run`. The modules, from the top (the layers
``make lint`` checks):

- :mod:`.main` — wires the features to the server, runs it;
- :mod:`.files` — the custom requests (``hotfix/readFile`` …), :mod:`.commands` — the
  ``workspace/executeCommand`` commands, :mod:`.documents` — diagnostics and the watch of
  open documents (:mod:`.watch`), declared in :mod:`.registry`;
- :mod:`.server` — the pygls server, its transports and the service in worker threads;
- :mod:`.uris` — ``hotfix://`` URIs, :mod:`.convert` — VS Code numbers and encodings,
  :mod:`.params` — reading params, :mod:`.errors` — the one error mapping,
  :mod:`.progress` — the service's Progress over work-done progress, :mod:`.auth` — who
  may connect on TCP, :mod:`.spool` — big contents beside the stream, :mod:`.wire` — frames.
"""
