"""Open container documents: diagnostics before a save goes live, and the watch for
changes made by someone else in the container."""

from __future__ import annotations

import logging

from lsprotocol import types

from hotfix.core import validation
from hotfix.lsp import convert, uris
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.server import HotfixLanguageServer

logger = logging.getLogger(__name__)


def did_open(ls: HotfixLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    loc = _container_file(params.text_document.uri)
    if loc is None:
        return
    publish_diagnostics(ls, params.text_document.uri, loc)
    if not loc.is_checkpoint:
        ls.watcher.open(params.text_document.uri, loc)


def did_change(ls: HotfixLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    loc = _container_file(params.text_document.uri)
    if loc is not None:
        publish_diagnostics(ls, params.text_document.uri, loc)


def did_close(ls: HotfixLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    loc = _container_file(params.text_document.uri)
    if loc is None:
        return
    ls.watcher.close(params.text_document.uri)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
    )


def publish_diagnostics(ls: HotfixLanguageServer, uri: str, loc: uris.Location) -> None:
    """Python syntax and JSON errors of the editor's text (checkpoints are not checked)."""
    doc = ls.workspace.get_text_document(uri)
    found: list[types.Diagnostic] = []
    if not loc.is_checkpoint:
        for problem in validation.check(loc.path, doc.source.encode("utf-8")):
            diag = convert.diagnostic(problem)
            diag.range = doc.position_codec.range_to_client_units(doc.lines, diag.range)
            found.append(diag)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=doc.version)
    )


def _container_file(uri: str) -> uris.Location | None:
    if not uri.lower().startswith(tuple(s + ":" for s in uris.SCHEMES)):
        return None  # a file:// document: not ours
    try:
        return uris.parse_uri(uri)
    except InvalidParams as exc:
        logger.warning("ignoring document %s: %s", uri, exc)
        return None
