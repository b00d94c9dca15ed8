import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    activeTextEditor: vi.fn(() => undefined),
    registerCommand: vi.fn(),
    showInformationMessage: vi.fn(async () => undefined),
    showWarningMessage: vi.fn(async () => undefined),
    showErrorMessage: vi.fn(async () => undefined),
    withProgress: vi.fn(async (_options: unknown, task: (progress: unknown, token: unknown) => unknown) =>
        task({ report: vi.fn() }, { isCancellationRequested: false }),
    ),
}));

import * as ui from '../../src/common/vscodeapi';
import type { Services } from '../../src/commands/services';
import { describeTry, SAVE_TO_LIVE, tryInTwin } from '../../src/commands/twin';
import { HotfixFileSystemProvider } from '../../src/fs/hotfixFileSystem';
import type { TryResult } from '../../src/server/protocol';
import { ProbeHistory } from '../../src/views/probeHistory';
import { FakeServer } from '../fakes/server';
import { Uri } from '../fakes/vscode';

const mocked = vi.mocked(ui);
const DIRTY = 'def application(env, start_response):\n    return [b"fixed"]\n';

function servicesFor(server: FakeServer, defaultProbe = ''): Services {
    return {
        server,
        files: new HotfixFileSystemProvider(server),
        changes: { scheduleRefresh: vi.fn(), refresh: vi.fn(), list: vi.fn(() => []) } as any,
        probes: new ProbeHistory(),
        settings: () => ({ serverCommand: [], serverPython: '', dockerHost: '', defaultProbe, pollInterval: 2 }),
    };
}

function openEditor(uri: string) {
    const document = { uri: Uri.parse(uri), getText: () => DIRTY, save: vi.fn(async () => true), isDirty: true };
    mocked.activeTextEditor.mockReturnValue({ document } as any);
    return document;
}

function verdict(healthy: boolean, extra: Partial<TryResult> = {}): TryResult {
    return {
        container: 'web',
        twin: 'hotfix-twin-web-1',
        verdict: healthy ? 'healthy' : 'unhealthy',
        healthy,
        seconds: 1.234,
        probe: 'http://127.0.0.1:8001/',
        result: { ok: healthy, detail: healthy ? 'HTTP 200 OK' : 'HTTP 500' },
        log: '',
        ...extra,
    };
}

beforeEach(() => {
    vi.clearAllMocks();
});

describe('Try in Twin', () => {
    it('sends the unsaved buffer and, healthy, Save to Live saves the document', async () => {
        const server = new FakeServer().on('hotfix.try', () => verdict(true));
        const document = openEditor('hotfix://web/usr/src/app/app.py');
        mocked.showInformationMessage.mockResolvedValueOnce(SAVE_TO_LIVE as any);

        await tryInTwin(servicesFor(server, 'http://127.0.0.1:8001/health'), document.uri);

        const [args] = server.callsOf('hotfix.try');
        expect(args.uri).toBe('hotfix://web/usr/src/app/app.py');
        expect(Buffer.from(args.data, 'base64').toString('utf8')).toBe(DIRTY);
        expect(args.probe).toBe('http://127.0.0.1:8001/health');
        expect(mocked.showInformationMessage.mock.calls[0].slice(2)).toEqual([SAVE_TO_LIVE]);
        expect(mocked.showInformationMessage.mock.calls[0][0]).toContain('healthy in its twin after 1.23 s');
        expect(document.save).toHaveBeenCalledOnce();
    });

    it('healthy but dismissed: nothing is saved', async () => {
        const server = new FakeServer().on('hotfix.try', () => verdict(true));
        const document = openEditor('hotfix://web/usr/src/app/app.py');

        await tryInTwin(servicesFor(server));

        expect(server.callsOf('hotfix.try')[0].probe).toBeUndefined();
        expect(document.save).not.toHaveBeenCalled();
    });

    it('unhealthy: a warning with the reason and the twin\'s log, no Save to Live', async () => {
        const log = 'line 1\nSyntaxError: invalid syntax';
        const server = new FakeServer().on('hotfix.try', () => verdict(false, { reason: 'HTTP 500 3 times', log }));
        const document = openEditor('hotfix://web/usr/src/app/app.py');

        await tryInTwin(servicesFor(server));

        const [message, ...choices] = mocked.showWarningMessage.mock.calls[0];
        expect(message).toContain('UNHEALTHY in its twin');
        expect(message).toContain('SyntaxError: invalid syntax');
        expect(choices).toEqual([]);
        expect(mocked.showInformationMessage).not.toHaveBeenCalled();
        expect(document.save).not.toHaveBeenCalled();
    });

    it('no container editor: says so and asks nothing of the server', async () => {
        const server = new FakeServer();
        openEditor('file:///tmp/app.py');

        await tryInTwin(servicesFor(server));

        expect(server.calls).toEqual([]);
        expect(mocked.showWarningMessage.mock.calls[0][0]).toContain('open container file');
    });

    it('a refused verdict names the check', () => {
        expect(describeTry(verdict(false, { verdict: 'refused', reason: 'check failed: nginx -t exited 1' }))).toContain(
            'refused (check failed) in its twin after 1.23 s: check failed: nginx -t exited 1',
        );
    });
});
