import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    showErrorMessage: vi.fn(async () => undefined),
    showInformationMessage: vi.fn(async () => undefined),
    writeClipboard: vi.fn(async () => undefined),
}));

import * as ui from '../../src/common/vscodeapi';
import { offerHarvestActions } from '../../src/commands/harvestResult';

const mocked = vi.mocked(ui);
const RESULT = { branch: 'hotfix-web-1', commit: '0123456789abcdef', files: ['app.py'], base: null };

beforeEach(() => vi.clearAllMocks());

describe('the harvest result', () => {
    it('offers Check Out and Copy Branch; Copy Branch copies the name', async () => {
        mocked.showInformationMessage.mockResolvedValueOnce('Copy Branch');
        await offerHarvestActions('/src/shop', RESULT, vi.fn());
        expect(mocked.showInformationMessage.mock.calls[0].slice(2)).toEqual(['Check Out', 'Copy Branch']);
        expect(mocked.writeClipboard).toHaveBeenCalledWith('hotfix-web-1');
    });

    it('Check Out switches the repository to the branch, or says why not', async () => {
        const git = vi.fn(async () => undefined);
        mocked.showInformationMessage.mockResolvedValueOnce('Check Out');
        await offerHarvestActions('/src/shop', RESULT, git);
        expect(git).toHaveBeenCalledWith('/src/shop', ['switch', 'hotfix-web-1']);
        expect(mocked.showInformationMessage.mock.calls[1][0]).toBe('/src/shop is now on hotfix-web-1.');

        mocked.showInformationMessage.mockResolvedValueOnce('Check Out');
        await offerHarvestActions('/src/shop', RESULT, async () => 'error: Your local changes would be overwritten');
        expect(mocked.showErrorMessage.mock.calls[0][0]).toBe(
            'Could not check out hotfix-web-1 in /src/shop: error: Your local changes would be overwritten',
        );
    });
});
