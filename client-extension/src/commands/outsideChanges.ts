import { type Disposable, TabInputTextDiff, Uri, window } from 'vscode';
import {
    executeCommand,
    findOpenTextDocument,
    registerCommand,
    showTextDocument,
    showWarningMessage,
} from '../common/vscodeapi';
import { containerNames } from '../fs/containerNames';
import type { HotfixFileSystemProvider } from '../fs/hotfixFileSystem';
import { baseName, LIVE_SCHEME, withScheme } from '../fs/uris';

const COMPARE = 'Compare';
const KEEP_MINE = 'Keep Mine';
const TAKE_THEIRS = 'Take Theirs';

/** Title actions of the compare view (package.json `editor/title`, when `hotfix.comparing`). */
export const COMPARE_COMMAND = { accept: 'hotfix.acceptTheirs', overwrite: 'hotfix.overwriteWithMine' } as const;

/**
 * Someone else changed a container file that is open here with unsaved edits:
 * say so now (not at the next save), without a modal. A clean document just
 * reloads (the provider's change event does that).
 */
export async function offerOutsideChange(uri: Uri, files: HotfixFileSystemProvider): Promise<void> {
    const document = findOpenTextDocument(uri);
    if (!document?.isDirty) {
        return;
    }
    const name = baseName(uri.path);
    const container = containerNames.restore(uri.authority);
    const message = `${name} changed in ${container} while you were editing it; your edits are not saved yet.`;
    let choice = await showWarningMessage(message, {}, COMPARE, KEEP_MINE, TAKE_THEIRS);
    while (choice === COMPARE) {
        await compareWithContainer(uri);
        choice = await showWarningMessage(message, {}, COMPARE, KEEP_MINE, TAKE_THEIRS);
    }
    if (choice === KEEP_MINE) {
        files.allowOverwriteOnce(uri); // the next save replaces their change
    } else if (choice === TAKE_THEIRS) {
        await takeTheirs(uri);
    }
}

/** The container's copy (left) beside yours (right), with Accept / Overwrite in the title. */
export async function compareWithContainer(uri: Uri): Promise<void> {
    const name = baseName(uri.path);
    const container = containerNames.restore(uri.authority);
    await executeCommand('vscode.diff', Uri.from(withScheme(uri, LIVE_SCHEME)), uri, `${name} (in ${container}) ↔ yours`);
}

/** Whether a diff tab compares the container's live copy (left) with yours. */
export function isLiveComparison(input: unknown): boolean {
    return input instanceof TabInputTextDiff && input.original.scheme === LIVE_SCHEME;
}

/** `hotfix.comparing`: the active tab is such a comparison (its title shows Accept / Overwrite). */
export function trackComparisons(): Disposable[] {
    const update = () =>
        void executeCommand('setContext', 'hotfix.comparing', isLiveComparison(window.tabGroups.activeTabGroup.activeTab?.input));
    return [window.tabGroups.onDidChangeTabs(update), window.tabGroups.onDidChangeTabGroups(update)];
}

/** Drops the unsaved edits: the document shows the container's copy again. */
async function takeTheirs(uri: Uri): Promise<void> {
    const document = findOpenTextDocument(uri);
    if (document) {
        await showTextDocument(document);
        await executeCommand('workbench.action.files.revert');
    }
}

/** Overwrite with Mine: saves yours over the container's newer copy. */
async function overwriteWithMine(uri: Uri, files: HotfixFileSystemProvider): Promise<void> {
    files.allowOverwriteOnce(uri);
    await findOpenTextDocument(uri)?.save();
}

/** The compare view's title actions; VS Code passes the right side (yours). */
export function registerCompareCommands(files: HotfixFileSystemProvider): Disposable[] {
    const mine = (argument: unknown) => (argument instanceof Uri ? argument : undefined);
    return [
        ...trackComparisons(),
        registerCommand(COMPARE_COMMAND.accept, async (argument?: unknown) => {
            const uri = mine(argument);
            if (uri) {
                await takeTheirs(uri);
            }
        }),
        registerCommand(COMPARE_COMMAND.overwrite, async (argument?: unknown) => {
            const uri = mine(argument);
            if (uri) {
                await overwriteWithMine(uri, files);
            }
        }),
    ];
}
