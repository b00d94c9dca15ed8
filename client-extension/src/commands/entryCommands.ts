import { type Disposable, FileType, Uri } from 'vscode';
import {
    addWorkspaceFolder,
    copyResource,
    executeCommand,
    registerCommand,
    showErrorMessage,
    showInputBox,
    showOpenDialog,
    showSaveDialog,
    statFile,
    writeClipboard,
    writeFileBytes,
} from '../common/vscodeapi';
import { containerNames } from '../fs/containerNames';
import { describeServerError } from '../fs/errors';
import { baseName, HOTFIX_SCHEME, joinPath, toUriParts } from '../fs/uris';

/** Command IDs of the Containers view's folder and file rows (package.json). */
export const ENTRY_COMMAND = {
    openAsWorkspaceFolder: 'hotfix.openAsWorkspaceFolder',
    copyPath: 'hotfix.copyPath',
    /** The Explorer's: beside VS Code's own Copy Path, which copies the label ("/app/app.py (web)"). */
    copyContainerPath: 'hotfix.copyContainerPath',
    newFile: 'hotfix.newFile',
    download: 'hotfix.download',
} as const;

interface Entry {
    uri: Uri;
    isDirectory: boolean;
}

/** A Containers view row (container, folder, file) or an Explorer `hotfix:` URI, as an entry. */
export function entryOf(argument: unknown): Entry | undefined {
    const node = argument as { kind?: string; uri?: Uri; type?: number; container?: { name?: string } } | undefined;
    if (node?.kind === 'container' && typeof node.container?.name === 'string') {
        return { uri: Uri.from(toUriParts({ container: node.container.name, path: '/' })), isDirectory: true };
    }
    if (node?.kind === 'entry' && node.uri) {
        return { uri: node.uri, isDirectory: ((node.type ?? 0) & FileType.Directory) !== 0 };
    }
    if (argument instanceof Uri && argument.scheme === HOTFIX_SCHEME) {
        return { uri: argument, isDirectory: false };
    }
    return undefined;
}

/** As `entryOf`; an Explorer URI says nothing of its kind, so a folder is learnt from a stat. */
async function statedEntryOf(argument: unknown): Promise<Entry | undefined> {
    const entry = entryOf(argument);
    if (entry && argument instanceof Uri) {
        const stat = await statFile(entry.uri);
        return { uri: entry.uri, isDirectory: (stat.type & FileType.Directory) !== 0 };
    }
    return entry;
}

/** "web:/usr/src/app/app.py", the form `hotfix cat` takes. */
export function containerPath(uri: Uri): string {
    return `${containerNames.restore(uri.authority)}:${uri.path || '/'}`;
}

/** "web: app" */
export function workspaceFolderName(uri: Uri): string {
    const container = containerNames.restore(uri.authority);
    return uri.path && uri.path !== '/' ? `${container}: ${baseName(uri.path)}` : container;
}

export async function openAsWorkspaceFolder(argument: unknown): Promise<void> {
    const entry = entryOf(argument);
    if (entry?.isDirectory) {
        addWorkspaceFolder(entry.uri, workspaceFolderName(entry.uri));
    }
}

export async function copyPath(argument: unknown): Promise<void> {
    const entry = entryOf(argument);
    if (entry) {
        await writeClipboard(containerPath(entry.uri));
    }
}

/** New File… in a container folder: an empty file, then opened. */
export async function newFile(argument: unknown): Promise<void> {
    const entry = entryOf(argument);
    if (!entry?.isDirectory) {
        return;
    }
    const name = await showInputBox({
        title: `New file in ${containerPath(entry.uri)}`,
        prompt: 'File name (or a relative path)',
        validateInput: (value) => (value.trim() && !value.startsWith('/') ? undefined : 'A name, not an absolute path'),
    });
    if (!name) {
        return;
    }
    const uri = entry.uri.with({ path: joinPath(entry.uri.path, name.trim()) });
    await writeFileBytes(uri, new Uint8Array());
    await executeCommand('vscode.open', uri);
}

/** Download…: a copy of a container file or folder on this machine. */
export async function download(argument: unknown): Promise<void> {
    const entry = await statedEntryOf(argument);
    if (!entry) {
        return;
    }
    const name = baseName(entry.uri.path) || containerNames.restore(entry.uri.authority);
    if (entry.isDirectory) {
        const [folder] = (await showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Download Here' })) ?? [];
        if (folder) {
            await copyResource(entry.uri, Uri.joinPath(folder, name));
        }
        return;
    }
    const target = await showSaveDialog({ defaultUri: Uri.file(name), saveLabel: 'Download' });
    if (target) {
        await copyResource(entry.uri, target);
    }
}

/** The folder and file row commands; a failure becomes one error notification. */
export function registerEntryCommands(): Disposable[] {
    const handlers: Record<string, (argument: unknown) => Promise<void>> = {
        [ENTRY_COMMAND.openAsWorkspaceFolder]: openAsWorkspaceFolder,
        [ENTRY_COMMAND.copyPath]: copyPath,
        [ENTRY_COMMAND.copyContainerPath]: copyPath,
        [ENTRY_COMMAND.newFile]: newFile,
        [ENTRY_COMMAND.download]: download,
    };
    return Object.entries(handlers).map(([id, handler]) =>
        registerCommand(id, async (argument?: unknown) => {
            try {
                await handler(argument);
            } catch (error) {
                await showErrorMessage(`Hotfix: ${describeServerError(error).message}`);
            }
        }),
    );
}
