import { Uri } from 'vscode';
import { executeCommand, findOpenTextDocument, showWarningMessage } from '../common/vscodeapi';
import type { HotfixFileSystemProvider, SaveRefusal } from '../fs/hotfixFileSystem';
import { baseName, formatUri, LIVE_SCHEME, withScheme } from '../fs/uris';

const COMPARE = 'Compare';
const OVERWRITE = 'Overwrite';
const SAVE_ANYWAY = 'Save anyway';

/**
 * The way out of a save the server refused. VS Code has already shown its
 * "Failed to save" notification; this one offers the choices that make sense:
 * - Conflict (the container's copy changed in a way VS Code's own check could
 *   not see, e.g. same size, or between its check and the write): Compare /
 *   Overwrite, like VS Code's "file changed on disk" flow.
 * - ValidationFailed (e.g. a syntax error in a Python file): Save anyway,
 *   which re-sends the write with `force: true`.
 */
export async function offerWayOut(refusal: SaveRefusal, files: HotfixFileSystemProvider): Promise<void> {
    const name = baseName(refusal.uri.path);
    const key = formatUri(refusal.uri);
    if (refusal.code === 'ValidationFailed') {
        const choice = await showWarningMessage(`${name} was not saved: ${refusal.message}`, {}, SAVE_ANYWAY);
        if (choice === SAVE_ANYWAY) {
            files.versions.forceNextWrite(key);
            await findOpenTextDocument(refusal.uri)?.save();
        }
        return;
    }
    const message = `${name} changed in ${refusal.uri.authority} after you opened it, so your save was refused. ${refusal.message}`;
    let choice = await showWarningMessage(message, {}, COMPARE, OVERWRITE);
    while (choice === COMPARE) {
        const live = Uri.from(withScheme(refusal.uri, LIVE_SCHEME));
        await executeCommand('vscode.diff', live, refusal.uri, `${name} (in ${refusal.uri.authority}) ↔ yours`);
        choice = await showWarningMessage(message, {}, COMPARE, OVERWRITE);
    }
    if (choice === OVERWRITE) {
        files.versions.allowOverwriteOnce(key);
        await findOpenTextDocument(refusal.uri)?.save();
    }
}
