import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    executeCommand: vi.fn(async () => undefined),
    openTextDocument: vi.fn(async (uri: unknown) => ({ uri })),
    showTextDocument: vi.fn(async () => undefined),
    showSaveDialog: vi.fn(async () => undefined),
    writeFileBytes: vi.fn(async () => undefined),
    showInformationMessage: vi.fn(async () => undefined),
}));

import * as ui from '../../src/common/vscodeapi';
import { showIncidentReport } from '../../src/commands/incidentCommands';
import {
    readonlyUri,
    saveLastPreviewAs,
    showMarkdownPreview,
    showReadonlyText,
    TEXT_SCHEME,
} from '../../src/views/readonlyDocuments';
import { FakeServer } from '../fakes/server';
import { Uri } from '../fakes/vscode';

const mocked = vi.mocked(ui);

beforeEach(() => vi.clearAllMocks());

describe('read-only documents', () => {
    it('a diff opens as a read-only document with the .diff language, not an untitled file', async () => {
        await showReadonlyText('web.diff', '--- a\n+++ b\n');
        const [uri] = mocked.openTextDocument.mock.calls[0] as [any];
        expect([uri.scheme, uri.path]).toEqual([TEXT_SCHEME, '/web.diff']);
    });

    it('names cannot make paths', () => {
        expect(readonlyUri('a/b\\c.md', '').path).toBe('/a_b_c.md');
    });

    it('the incident report renders as a Markdown preview; Save As… writes the same Markdown', async () => {
        const server = new FakeServer().on('hotfix.report', () => ({ markdown: '# Incident web\n' }));
        await showIncidentReport({ server } as any, { kind: 'container', container: { name: 'web' } });
        const [command, uri] = mocked.executeCommand.mock.calls.at(-1) as [string, any];
        expect(command).toBe('markdown.showPreview');
        expect([uri.scheme, uri.path]).toEqual([TEXT_SCHEME, '/incident-report-web.md']);

        const target = Uri.file('/tmp/report.md');
        mocked.showSaveDialog.mockResolvedValueOnce(target as any);
        await saveLastPreviewAs();
        const [written, bytes] = mocked.writeFileBytes.mock.calls[0] as [unknown, Uint8Array];
        expect(written).toBe(target);
        expect(new TextDecoder().decode(bytes)).toBe('# Incident web\n');
    });

    it('Save As… cancelled writes nothing', async () => {
        await showMarkdownPreview('r.md', 'x');
        await saveLastPreviewAs();
        expect(mocked.writeFileBytes).not.toHaveBeenCalled();
    });
});
