import { type QuickPickItem, Uri } from 'vscode';
import {
    executeCommand,
    openTextDocument,
    showInformationMessage,
    showQuickPick,
    showTextDocument,
    showWarningMessage,
    statFile,
} from '../common/vscodeapi';
import { describeServerError } from '../fs/errors';
import { baseName, buildUri, CHECKPOINT_SCHEME, HOTFIX_SCHEME, toUriParts } from '../fs/uris';
import type { Change } from '../views/changeTracker';
import { showReadonlyText } from '../views/readonlyDocuments';
import { fileOrContainerArgs, revertedUris } from './params';
import { pickContainer, pickContainerFile, targetOrActiveEditor } from './pickers';
import type { Services } from './services';
import { targetOf, type Target } from './targets';

/** Open Container File…: a container (unless invoked on one), then a walk through its directories. */
export async function openContainerFile(services: Services, argument?: unknown): Promise<void> {
    const target = targetOf(argument);
    const container = target?.container ?? (await pickContainer(services.server, 'Container to open a file from'))?.name;
    if (!container) {
        return;
    }
    const engine = target?.engine;
    const path = await pickContainerFile(services.server, (directory) => buildUri({ container, engine, path: directory }));
    if (path) {
        const document = await openTextDocument(uriOf({ container, engine, path }));
        await showTextDocument(document, { preview: false });
    }
}

/** Compare with Checkpoint (`hotfix.diffWithCheckpoint`): `vscode.diff` of the checkpoint (left) and the live file (right). */
export async function diffWithCheckpoint(services: Services, argument?: unknown): Promise<void> {
    const target = targetOrActiveEditor(argument);
    if (!target?.path) {
        await showChanges(services, argument);
        return;
    }
    const live = uriOf(target, HOTFIX_SCHEME);
    const checkpoint = uriOf(target, CHECKPOINT_SCHEME);
    try {
        await statFile(checkpoint);
    } catch {
        // The server keeps a checkpoint only of files saved through Hotfix.
        await showInformationMessage(`${baseName(target.path)} in ${target.container} has no checkpoint: it was not changed through Hotfix.`);
        return;
    }
    await executeCommand('vscode.diff', checkpoint, live, `${baseName(target.path)} (checkpoint ↔ ${target.container})`);
}

interface ChangePickItem extends QuickPickItem {
    change?: Change;
    wholeDiff?: string;
}

const STATUS_ICON = { modified: '$(diff-modified)', created: '$(diff-added)', deleted: '$(diff-removed)' };

/** Show Changes: the changed files of a container (or all), each opening its diff. */
export async function showChanges(services: Services, argument?: unknown): Promise<void> {
    const target = targetOrActiveEditor(argument);
    await services.changes.refresh();
    const changes = services.changes.list(target?.container);
    if (changes.length === 0) {
        await showInformationMessage(
            target ? `No files changed in ${target.container}.` : 'No files changed in any container.',
        );
        return;
    }
    const items: ChangePickItem[] = changes.map((change) => ({
        label: `${STATUS_ICON[change.status]} ${change.uri.path}`,
        description: `${change.uri.authority} · ${change.status}`,
        change,
    }));
    const containers = [...new Set(changes.map((change) => change.uri.authority))];
    for (const container of containers) {
        items.push({ label: `$(file-text) Unified diff of ${container}`, wholeDiff: container });
    }
    const picked = await showQuickPick(items, { placeHolder: 'Changed container files', matchOnDescription: true });
    if (picked?.change) {
        await openChange(picked.change);
    } else if (picked?.wholeDiff) {
        const { diff } = await services.server.executeCommand('hotfix.diff', { container: picked.wholeDiff });
        await showReadonlyText(`${picked.wholeDiff}.diff`, diff);
    }
}

async function openChange(change: Change): Promise<void> {
    const name = baseName(change.uri.path);
    switch (change.status) {
        case 'modified':
            await executeCommand('vscode.diff', change.checkpointUri, change.uri, `${name} (checkpoint ↔ ${change.uri.authority})`);
            return;
        case 'created':
            await executeCommand('vscode.open', change.uri);
            return;
        case 'deleted':
            await executeCommand('vscode.open', change.checkpointUri);
            return;
    }
}

/** Revert File: back to its checkpoint, after a confirmation. */
export async function revertFile(services: Services, argument?: unknown): Promise<void> {
    const target = targetOrActiveEditor(argument);
    if (!target?.path) {
        await showInformationMessage('Select a container file to revert (in the Containers view, the Explorer or an editor).');
        return;
    }
    await revert(services, target);
}

/** Reverts one file, or a whole container when the target has no path. */
export async function revert(services: Services, target: Target): Promise<boolean> {
    const what = target.path ? `${target.path} in ${target.container}` : `every changed file in ${target.container}`;
    const answer = await showWarningMessage(
        `Revert ${what} to its checkpoint? Changes made since are lost.`,
        { modal: true },
        'Revert',
    );
    if (answer !== 'Revert') {
        return false;
    }
    try {
        const { reverted } = await services.server.executeCommand('hotfix.revert', fileOrContainerArgs(target));
        // Open editors reload what the server put back.
        revertedUris(target, reverted).forEach((uri) => services.files.notifyChanged(Uri.parse(uri, true)));
        services.changes.scheduleRefresh();
        await showInformationMessage(`Reverted ${reverted.length} file${reverted.length === 1 ? '' : 's'} in ${target.container}.`);
        return true;
    } catch (error) {
        await showWarningMessage(`Revert failed: ${describeServerError(error).message}`);
        return false;
    }
}

function uriOf(target: Target, scheme: string = HOTFIX_SCHEME): Uri {
    return Uri.from(toUriParts({ container: target.container, engine: target.engine, path: target.path ?? '/' }, scheme));
}
