import type { Disposable } from 'vscode';
import { registerCommand, showErrorMessage } from '../common/vscodeapi';
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
                await showErrorMessage(`Hotfix: ${describeServerError(error).message}`);
            }
        }),
    );
}
