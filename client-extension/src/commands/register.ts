import type { Disposable } from 'vscode';
import { executeCommand, registerCommand, showErrorMessage } from '../common/vscodeapi';
import { describeServerError } from '../fs/errors';
import { diffWithCheckpoint, openContainerFile, revertFile, showChanges } from './fileCommands';
import { probe, restartAndProbe } from './healthCommands';
import { commitImage, harvestToBranch, showIncidentReport } from './incidentCommands';
import { COMMAND, type Services } from './services';

type CommandHandler = (services: Services, argument?: unknown) => Promise<void>;

const HANDLERS: Record<string, CommandHandler> = {
    [COMMAND.openContainerFile]: openContainerFile,
    [COMMAND.showChanges]: showChanges,
    [COMMAND.diffWithCheckpoint]: diffWithCheckpoint,
    [COMMAND.revertFile]: revertFile,
    [COMMAND.restartAndProbe]: restartAndProbe,
    [COMMAND.probe]: probe,
    [COMMAND.harvestToBranch]: harvestToBranch,
    [COMMAND.commitImage]: commitImage,
    [COMMAND.showIncidentReport]: showIncidentReport,
};

/** The palette / context-menu commands; an unexpected failure becomes one error notification. */
export function registerHotfixCommands(services: Services): Disposable[] {
    return Object.entries(HANDLERS).map(([id, handler]) =>
        registerCommand(id, async (argument?: unknown) => {
            try {
                await handler(services, argument);
            } catch (error) {
                await reportCommandFailure(error);
            }
        }),
    );
}

/** One error notification; when the engine or server cannot be reached, with the way to fix it. */
export async function reportCommandFailure(error: unknown): Promise<void> {
    const failure = describeServerError(error);
    if (failure.code !== 'Unavailable' && failure.code !== undefined) {
        await showErrorMessage(`Hotfix: ${failure.message}`);
        return;
    }
    const choice = await showErrorMessage(`Hotfix: ${failure.message}`, {}, 'Open Settings', 'Show Log');
    if (choice === 'Open Settings') {
        await executeCommand('workbench.action.openSettings', 'hotfix');
    } else if (choice === 'Show Log') {
        await executeCommand(COMMAND.showLog);
    }
}
