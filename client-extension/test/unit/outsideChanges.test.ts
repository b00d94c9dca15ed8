import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    executeCommand: vi.fn(async () => undefined),
    findOpenTextDocument: vi.fn(),
    registerCommand: vi.fn(),
    showTextDocument: vi.fn(async () => undefined),
    showWarningMessage: vi.fn(async () => undefined),
}));

import * as ui from '../../src/common/vscodeapi';
import { isLiveComparison, offerOutsideChange } from '../../src/commands/outsideChanges';
import { containerNames } from '../../src/fs/containerNames';
import { TabInputTextDiff, Uri } from '../fakes/vscode';

const mocked = vi.mocked(ui);
const FILE = Uri.parse('hotfix://web/usr/src/app/app.py') as any;

function files() {
    return { allowOverwriteOnce: vi.fn() } as any;
}

beforeEach(() => {
    vi.clearAllMocks();
    containerNames.clear();
});

describe('a container file changed while open', () => {
    it('a clean document is not asked about (it reloads by itself)', async () => {
        mocked.findOpenTextDocument.mockReturnValue({ isDirty: false } as any);
        await offerOutsideChange(FILE, files());
        expect(mocked.showWarningMessage).not.toHaveBeenCalled();
    });

    it('a dirty one gets one non-modal message with Compare / Keep Mine / Take Theirs', async () => {
        mocked.findOpenTextDocument.mockReturnValue({ isDirty: true } as any);
        mocked.showWarningMessage.mockResolvedValueOnce('Compare').mockResolvedValueOnce('Keep Mine');
        const provider = files();
        await offerOutsideChange(FILE, provider);
        const [text, options, ...actions] = mocked.showWarningMessage.mock.calls[0];
        expect(text).toBe('app.py changed in web while you were editing it; your edits are not saved yet.');
        expect(options).toEqual({});
        expect(actions).toEqual(['Compare', 'Keep Mine', 'Take Theirs']);
        expect(mocked.executeCommand.mock.calls.some(([command]) => command === 'vscode.diff')).toBe(true);
        expect(provider.allowOverwriteOnce).toHaveBeenCalledWith(FILE);
    });

    it('Take Theirs reverts the document to the container copy', async () => {
        const document = { isDirty: true };
        mocked.findOpenTextDocument.mockReturnValue(document as any);
        mocked.showWarningMessage.mockResolvedValueOnce('Take Theirs');
        await offerOutsideChange(FILE, files());
        expect(mocked.showTextDocument).toHaveBeenCalledWith(document);
        expect(mocked.executeCommand).toHaveBeenCalledWith('workbench.action.files.revert');
    });
});

describe('the compare view title actions', () => {
    it('show only on a comparison of the container copy with yours', () => {
        const live = Uri.parse('hotfix-live://web/usr/src/app/app.py');
        const checkpoint = Uri.parse('hotfix-checkpoint://web/usr/src/app/app.py');
        expect(isLiveComparison(new TabInputTextDiff(live, FILE))).toBe(true);
        expect(isLiveComparison(new TabInputTextDiff(checkpoint, FILE))).toBe(false);
        expect(isLiveComparison(undefined)).toBe(false);
    });
});
