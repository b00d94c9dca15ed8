import { TextDocumentSaveReason, Uri } from 'vscode';
import { showWarningMessage } from '../common/vscodeapi';
import { compareWithContainer } from './outsideChanges';
import type { RefusalAnswer, SaveRefusal } from '../fs/hotfixFileSystem';
import { containerNames, serverUri } from '../fs/containerNames';
import { baseName } from '../fs/uris';

const COMPARE = 'Compare';
const OVERWRITE = 'Overwrite';
const SAVE_ANYWAY = 'Save Anyway';

/**
 * Why each container document was last saved. Auto save (the default in
 * code-server and VS Code for the Web) saves half-typed code; a validation
 * refusal of such a save is no reason to interrupt the user.
 */
export class SaveReasons {
    private readonly reasons = new Map<string, TextDocumentSaveReason>();

    note(uri: Uri, reason: TextDocumentSaveReason): void {
        this.reasons.set(serverUri(uri), reason);
    }

    /** Unknown counts as manual: better one prompt too many than a silent refusal. */
    wasManual(uri: Uri): boolean {
        return (this.reasons.get(serverUri(uri)) ?? TextDocumentSaveReason.Manual) === TextDocumentSaveReason.Manual;
    }
}

/**
 * The way out of a save the server refused, asked while the save waits (see
 * `HotfixFileSystemProvider.setRefusalHandler`), so this is the only message:
 * - Conflict (the container's copy changed in a way VS Code's own check could
 *   not see, e.g. same size, or between its check and the write): Compare /
 *   Overwrite, like VS Code's "file changed on disk" flow.
 * - ValidationFailed (e.g. a syntax error in a Python file) and Protected (the
 *   container's hotfix.protect label): Save Anyway, which writes again forced
 *   (journalled as forced). Not asked for auto saves: the diagnostics already
 *   show the problem and the editor stays dirty.
 */
export async function askAboutRefusal(refusal: SaveRefusal, reasons: SaveReasons): Promise<RefusalAnswer> {
    const name = baseName(refusal.uri.path);
    if (refusal.code !== 'Conflict') {
        if (!reasons.wasManual(refusal.uri)) {
            return 'keep';
        }
        const choice = await showWarningMessage(`${name} was not saved: ${refusal.message}`, {}, SAVE_ANYWAY);
        return choice === SAVE_ANYWAY ? 'force' : 'keep';
    }
    const container = containerNames.restore(refusal.uri.authority);
    const message = `${name} changed in ${container} after you opened it, so your save was refused. Compare, or overwrite the container's copy with yours?`;
    let choice = await showWarningMessage(message, {}, COMPARE, OVERWRITE);
    while (choice === COMPARE) {
        await compareWithContainer(refusal.uri);
        choice = await showWarningMessage(message, {}, COMPARE, OVERWRITE);
    }
    return choice === OVERWRITE ? 'overwrite' : 'keep';
}
