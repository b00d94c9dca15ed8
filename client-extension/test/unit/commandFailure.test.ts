import { ResponseError } from 'vscode-jsonrpc';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    executeCommand: vi.fn(async () => undefined),
    registerCommand: vi.fn(),
    showErrorMessage: vi.fn(async () => undefined),
}));

import * as ui from '../../src/common/vscodeapi';
import { reportCommandFailure } from '../../src/commands/register';

const mocked = vi.mocked(ui);

beforeEach(() => vi.clearAllMocks());

describe('a failed command', () => {
    it('an unreachable engine offers Open Settings and Show Log', async () => {
        mocked.showErrorMessage.mockResolvedValueOnce('Open Settings');
        await reportCommandFailure(new ResponseError(-32803, 'Cannot connect to the Docker daemon', { code: 'Unavailable' }));
        expect(mocked.showErrorMessage.mock.calls[0].slice(2)).toEqual(['Open Settings', 'Show Log']);
        expect(mocked.executeCommand).toHaveBeenCalledWith('workbench.action.openSettings', 'hotfix');
    });

    it('other failures are one plain message', async () => {
        await reportCommandFailure(new ResponseError(-32803, 'no such container', { code: 'FileNotFound' }));
        expect(mocked.showErrorMessage.mock.calls[0]).toEqual(['Hotfix: no such container']);
    });
});
