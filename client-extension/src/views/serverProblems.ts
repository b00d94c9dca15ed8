import { COMMAND } from '../commands/services';
import { executeCommand, showErrorMessage } from '../common/vscodeapi';
import { DID_CHANGE_CONTAINERS, LIFECYCLE } from '../server/protocol';

/** Server → client notifications the extension subscribes to besides hotfix/didChangeFile. */
export const SERVER_NOTIFICATIONS = [DID_CHANGE_CONTAINERS, LIFECYCLE] as const;

const SHOW_LOG = 'Show Log';
const OPEN_SETTINGS = 'Open Settings';

/** The text of the one notification for a server that cannot start (no flags, no stack). */
export function startFailureMessage(error: unknown): string {
    const reason = error instanceof Error ? error.message : String(error);
    return `Hotfix: the server could not start: ${reason.replace(/\.$/, '')}. The log has the details; the settings "Hotfix › Server: Python" and "Hotfix › Server: Command" choose how it starts.`;
}

/** ONE notification: why the server is not running, with Show Log / Open Settings. */
export async function reportStartFailure(error: unknown): Promise<void> {
    const choice = await showErrorMessage(startFailureMessage(error), {}, SHOW_LOG, OPEN_SETTINGS);
    if (choice === SHOW_LOG) {
        await executeCommand(COMMAND.showLog);
    } else if (choice === OPEN_SETTINGS) {
        await executeCommand('workbench.action.openSettings', 'hotfix.server');
    }
}
