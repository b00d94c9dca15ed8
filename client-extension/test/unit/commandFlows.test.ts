import { beforeEach, describe, expect, it, vi } from 'vitest';

// The commands talk to VS Code only through this wrapper; script it.
vi.mock('../../src/common/vscodeapi', () => ({
    activeTextEditor: vi.fn(() => undefined),
    executeCommand: vi.fn(async () => undefined),
    findOpenTextDocument: vi.fn(),
    showInformationMessage: vi.fn(async () => undefined),
    showWarningMessage: vi.fn(async () => undefined),
    showErrorMessage: vi.fn(async () => undefined),
    showQuickPick: vi.fn(async () => undefined),
    showInputBox: vi.fn(async () => undefined),
    withProgress: vi.fn(async (_options: unknown, task: (progress: unknown, token: unknown) => unknown) =>
        task({ report: vi.fn() }, { isCancellationRequested: false }),
    ),
    getConfiguration: vi.fn(),
}));

import * as ui from '../../src/common/vscodeapi';
import { probe, restartAndProbe } from '../../src/commands/healthCommands';
import { askAboutRefusal, SaveReasons } from '../../src/commands/saveRefusals';
import type { SaveRefusal } from '../../src/fs/saveRefusal';
import type { Services } from '../../src/commands/services';
import { HotfixFileSystemProvider } from '../../src/fs/hotfixFileSystem';
import { ProbeHistory } from '../../src/views/probeHistory';
import { FakeServer } from '../fakes/server';
import { TextDocumentSaveReason, Uri } from '../fakes/vscode';

const mocked = vi.mocked(ui);
const FILE = Uri.parse('hotfix://web/usr/src/app/app.py') as any;
const CONTAINER_NODE = { kind: 'container', container: { name: 'web' } };

function servicesFor(server: FakeServer, defaultProbe = ''): Services {
    return {
        server,
        files: new HotfixFileSystemProvider(server),
        changes: { scheduleRefresh: vi.fn(), refresh: vi.fn(), list: vi.fn(() => []) } as any,
        probes: new ProbeHistory(),
        settings: () => ({ serverCommand: [], serverPython: '', dockerHost: '', defaultProbe, pollInterval: 2 }),
    };
}

beforeEach(() => {
    vi.clearAllMocks();
});

describe('save refused by the server', () => {
    const refusal = (code: SaveRefusal['code'], message = 'changed'): SaveRefusal => ({ uri: FILE, code, message });

    it('Conflict → Overwrite', async () => {
        mocked.showWarningMessage.mockResolvedValueOnce('Overwrite');
        expect(await askAboutRefusal(refusal('Conflict'), new SaveReasons())).toBe('overwrite');
        expect(mocked.showWarningMessage.mock.calls[0].slice(2)).toEqual(['Compare', 'Overwrite']);
    });

    it("Conflict → Compare opens the container's copy beside yours, then asks again", async () => {
        mocked.showWarningMessage.mockResolvedValueOnce('Compare').mockResolvedValueOnce(undefined);

        expect(await askAboutRefusal(refusal('Conflict'), new SaveReasons())).toBe('keep');

        const diff = mocked.executeCommand.mock.calls.find(([command]) => command === 'vscode.diff');
        const [, left, right] = diff as [string, any, any];
        expect([left.scheme, left.authority, left.path]).toEqual(['hotfix-live', 'web', '/usr/src/app/app.py']);
        expect(right).toBe(FILE);
        expect(mocked.showWarningMessage).toHaveBeenCalledTimes(2);
    });

    it('ValidationFailed / Protected → Save Anyway: force; the message names the file and the plain reason', async () => {
        mocked.showWarningMessage.mockResolvedValueOnce('Save Anyway').mockResolvedValueOnce(undefined);
        expect(await askAboutRefusal(refusal('ValidationFailed', 'SyntaxError: line 3'), new SaveReasons())).toBe('force');
        expect(mocked.showWarningMessage.mock.calls[0][0]).toBe('app.py was not saved: SyntaxError: line 3');
        expect(mocked.showWarningMessage.mock.calls[0].slice(2)).toEqual(['Save Anyway']);
        expect(await askAboutRefusal(refusal('Protected', 'web is protected'), new SaveReasons())).toBe('keep');
    });

    it('ValidationFailed of an auto save: no prompt (the diagnostics show it)', async () => {
        const reasons = new SaveReasons();
        reasons.note(FILE, TextDocumentSaveReason.AfterDelay as any);

        expect(await askAboutRefusal(refusal('ValidationFailed', 'SyntaxError'), reasons)).toBe('keep');

        expect(mocked.showWarningMessage).not.toHaveBeenCalled();
    });

    it('Conflict of an auto save still asks', async () => {
        const reasons = new SaveReasons();
        reasons.note(FILE, TextDocumentSaveReason.AfterDelay as any);
        mocked.showWarningMessage.mockResolvedValueOnce(undefined);

        await askAboutRefusal(refusal('Conflict'), reasons);

        expect(mocked.showWarningMessage).toHaveBeenCalledOnce();
    });
});

describe('Restart and Probe', () => {
    it('restarts with the default probe and reports time to healthy', async () => {
        const server = new FakeServer().on('hotfix.restart', () => ({
            healthy: true,
            seconds: 1.4,
            probe: { ok: true, detail: 'HTTP 200' },
        }));
        const services = servicesFor(server, 'http://127.0.0.1:8001/health');

        await restartAndProbe(services, CONTAINER_NODE);

        expect(server.callsOf('hotfix.restart')).toEqual([{ container: 'web', probe: 'http://127.0.0.1:8001/health' }]);
        expect(mocked.showInformationMessage).toHaveBeenCalledWith('web is healthy after 1.4 s — HTTP 200.');
        expect(services.probes.last('web')?.healthy).toBe(true);
    });

    it('when unhealthy, Revert and Restart is one server call: no notification waited for', async () => {
        const server = new FakeServer()
            .on('hotfix.restart', () => ({ healthy: false, seconds: 2, probe: { ok: false, detail: 'HTTP 500' } }))
            .on('hotfix.revert', () => ({
                reverted: ['/usr/src/app/app.py'],
                to: 'last-good',
                files: [{ path: '/usr/src/app/app.py', to: 'checkpoint', fallback: true, retried: false }],
                restart: { healthy: true, seconds: 1.5, probe: { ok: true, detail: 'HTTP 200' } },
                final: { state: 'running', healthy: true, detail: 'HTTP 200' },
            }));
        const services = servicesFor(server, 'http://127.0.0.1:8001/');
        const notified = vi.spyOn(services.files, 'notifyChanged');
        // Every notification stays open (never answered): the flow must not wait on one.
        mocked.showWarningMessage.mockResolvedValueOnce('Revert and Restart');
        mocked.showInformationMessage.mockImplementationOnce(() => new Promise(() => undefined) as any);

        const flow = restartAndProbe(services, CONTAINER_NODE);
        await vi.waitFor(() => expect(mocked.showInformationMessage).toHaveBeenCalledOnce());

        expect(mocked.showWarningMessage.mock.calls[0].slice(2)).toEqual(['Revert and Restart', 'Show Changes']);
        expect(server.calls.map((call) => call.method)).toEqual(['hotfix.restart', 'hotfix.revert']);
        expect(server.callsOf('hotfix.revert')).toEqual([
            { container: 'web', to: 'last-good', restart: true, probe: 'http://127.0.0.1:8001/' },
        ]);
        expect(notified).toHaveBeenCalledOnce();
        expect(services.changes.scheduleRefresh).toHaveBeenCalled();
        expect(services.probes.last('web')?.healthy).toBe(true);
        expect(mocked.showInformationMessage).toHaveBeenCalledWith(
            'web: reverted 1 file to checkpoint (no last good); now running, healthy — HTTP 200.',
        );
        void flow;
    });

    it('with a last good known, offers both ways back; to the checkpoint when asked', async () => {
        const server = new FakeServer()
            .on('hotfix.restart', () => ({ healthy: false, seconds: 2, probe: { ok: false, detail: 'HTTP 500' }, lastGood: 1.7e9 }))
            .on('hotfix.revert', () => ({
                reverted: [],
                to: 'checkpoint',
                files: [{ path: '/srv/new.js', to: 'checkpoint', fallback: false, retried: true, error: 'cannot delete' }],
                final: { state: 'exited', healthy: false, detail: 'container exited with code 1', exitCode: 1 },
            }));
        const services = servicesFor(server);
        mocked.showWarningMessage.mockResolvedValueOnce('Revert to Checkpoint and Restart');

        await restartAndProbe(services, CONTAINER_NODE);

        expect(mocked.showWarningMessage.mock.calls[0].slice(2)).toEqual([
            'Revert to Last Good and Restart',
            'Revert to Checkpoint and Restart',
            'Show Changes',
        ]);
        expect(server.callsOf('hotfix.revert')).toEqual([{ container: 'web', to: 'checkpoint', restart: true }]);
        expect(mocked.showWarningMessage).toHaveBeenLastCalledWith(
            'web: nothing to revert; now exited, NOT healthy — container exited with code 1. Could not revert /srv/new.js: cannot delete.',
        );
    });

    it('from the palette with a container editor active, acts on that container', async () => {
        mocked.activeTextEditor.mockReturnValue({ document: { uri: FILE } } as any);
        const server = new FakeServer().on('hotfix.probe', () => ({ healthy: true, seconds: 0.1, probe: { ok: true, detail: 'ok' } }));

        await probe(servicesFor(server));

        expect(server.callsOf('hotfix.probe')).toEqual([{ container: 'web' }]);
        expect(mocked.showQuickPick).not.toHaveBeenCalled();
    });

    it('when the server cannot tell how to probe, offers to type a probe and retries with it', async () => {
        const server = new FakeServer().failWith(
            'hotfix.restart',
            'ValidationFailed',
            'web publishes no port and has no HEALTHCHECK',
        );
        mocked.showWarningMessage.mockImplementationOnce(async () => {
            server.on('hotfix.restart', (args: { probe?: string }) => ({
                healthy: true,
                seconds: 1,
                probe: { ok: true, detail: args.probe },
            }));
            return 'Enter Probe…';
        });
        mocked.showInputBox.mockResolvedValueOnce(' tcp:127.0.0.1:5432 ');

        await restartAndProbe(servicesFor(server), CONTAINER_NODE);

        expect(server.callsOf('hotfix.restart')).toEqual([
            { container: 'web' },
            { container: 'web', probe: 'tcp:127.0.0.1:5432' },
        ]);
        expect(mocked.showInformationMessage).toHaveBeenCalledWith('web is healthy after 1.0 s — tcp:127.0.0.1:5432.');
    });

    it('a failing command becomes a warning, not an exception', async () => {
        const server = new FakeServer().failWith('hotfix.restart', 'Unavailable', 'engine unreachable');
        await restartAndProbe(servicesFor(server), CONTAINER_NODE);
        expect(mocked.showWarningMessage).toHaveBeenCalledWith('Restarting web failed: engine unreachable');
    });
});
