import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/vscodeapi', () => ({
    addWorkspaceFolder: vi.fn(() => true),
    copyResource: vi.fn(async () => undefined),
    executeCommand: vi.fn(async () => undefined),
    registerCommand: vi.fn(),
    showErrorMessage: vi.fn(async () => undefined),
    showInputBox: vi.fn(async () => undefined),
    showOpenDialog: vi.fn(async () => undefined),
    showSaveDialog: vi.fn(async () => undefined),
    statFile: vi.fn(async () => ({ type: 2 })),
    writeClipboard: vi.fn(async () => undefined),
    writeFileBytes: vi.fn(async () => undefined),
}));

import * as ui from '../../src/common/vscodeapi';
import { copyPath, download, newFile, openAsWorkspaceFolder } from '../../src/commands/entryCommands';
import { containerNames } from '../../src/fs/containerNames';
import { FileType, Uri } from '../fakes/vscode';

const mocked = vi.mocked(ui);
const folder = { kind: 'entry', uri: Uri.parse('hotfix://web/usr/src/app'), type: FileType.Directory };
const file = { kind: 'entry', uri: Uri.parse('hotfix://web/usr/src/app/app.py'), type: FileType.File };

beforeEach(() => {
    vi.clearAllMocks();
    containerNames.clear();
});

describe('folder and file rows', () => {
    it('Open as Workspace Folder adds the folder, named after container and folder', async () => {
        await openAsWorkspaceFolder(folder);
        const [uri, name] = mocked.addWorkspaceFolder.mock.calls[0] as [any, string];
        expect([uri.scheme, uri.authority, uri.path, name]).toEqual(['hotfix', 'web', '/usr/src/app', 'web: app']);
        await openAsWorkspaceFolder({ kind: 'container', container: { name: 'web' } });
        expect(mocked.addWorkspaceFolder.mock.calls[1][1]).toBe('web');
        await openAsWorkspaceFolder(file);
        expect(mocked.addWorkspaceFolder).toHaveBeenCalledTimes(2); // a file is no folder
    });

    it('Copy Path copies the container:path form', async () => {
        await copyPath(file);
        expect(mocked.writeClipboard).toHaveBeenCalledWith('web:/usr/src/app/app.py');
    });

    it('New File… writes an empty file in the folder and opens it', async () => {
        mocked.showInputBox.mockResolvedValueOnce('lib/new.py');
        await newFile(folder);
        const [uri, bytes] = mocked.writeFileBytes.mock.calls[0] as [any, Uint8Array];
        expect([uri.authority, uri.path, bytes.length]).toEqual(['web', '/usr/src/app/lib/new.py', 0]);
        expect(mocked.executeCommand).toHaveBeenCalledWith('vscode.open', uri);
    });

    it('Download… copies a file to the chosen place, a folder into the chosen folder', async () => {
        const target = Uri.file('/home/me/app.py');
        mocked.showSaveDialog.mockResolvedValueOnce(target as any);
        await download(file);
        expect(mocked.copyResource).toHaveBeenCalledWith(file.uri, target);

        mocked.showOpenDialog.mockResolvedValueOnce([Uri.file('/home/me')] as any);
        await download(folder);
        const [source, into] = mocked.copyResource.mock.calls[1] as [any, any];
        expect([source, into.path]).toEqual([folder.uri, '/home/me/app']);
    });

    it('from the Explorer (a bare URI), Download… asks the container whether it is a folder', async () => {
        mocked.statFile.mockResolvedValueOnce({ type: FileType.Directory } as any);
        mocked.showOpenDialog.mockResolvedValueOnce([Uri.file('/home/me')] as any);
        await download(folder.uri);
        expect(mocked.statFile).toHaveBeenCalledWith(folder.uri);
        expect((mocked.copyResource.mock.calls[0] as [any, any])[1].path).toBe('/home/me/app');

        mocked.statFile.mockResolvedValueOnce({ type: FileType.File } as any);
        mocked.showSaveDialog.mockResolvedValueOnce(Uri.file('/home/me/app.py') as any);
        await download(file.uri);
        expect(mocked.copyResource).toHaveBeenLastCalledWith(file.uri, Uri.file('/home/me/app.py'));
        expect(mocked.showOpenDialog).toHaveBeenCalledTimes(1);
    });

    it('Copy Container Path (Explorer) copies the container:path form of a bare URI', async () => {
        await copyPath(folder.uri);
        expect(mocked.writeClipboard).toHaveBeenCalledWith('web:/usr/src/app');
    });
});
