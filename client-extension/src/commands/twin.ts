import type { Disposable, TextDocument } from 'vscode';
import {
    activeTextEditor,
    registerCommand,
    showErrorMessage,
    showInformationMessage,
    showWarningMessage,
} from '../common/vscodeapi';
import { serverUri } from '../fs/containerNames';
import { describeServerError } from '../fs/errors';
import { HOTFIX_SCHEME, type UriParts } from '../fs/uris';
import type { TryResult } from '../server/protocol';
import { withServerProgress } from './healthCommands';
import type { Services } from './services';

/** Hotfix: Try in Twin — the editor's content, saved or not, in a throwaway twin of its container. */
export const TRY_IN_TWIN = 'hotfix.tryInTwin';
export const SAVE_TO_LIVE = 'Save to Live';
const LOG_LINES_SHOWN = 5;

export function registerTryInTwin(services: Services): Disposable {
    return registerCommand(TRY_IN_TWIN, async (argument?: unknown) => {
        try {
            await tryInTwin(services, argument);
        } catch (error) {
            await showErrorMessage(`Hotfix: Try in Twin failed: ${describeServerError(error).message}`);
        }
    });
}

/**
 * Sends the document's current text (dirty or not) as `hotfix.try`; a healthy
 * verdict offers Save to Live, which is the editor's normal save (checkpoint,
 * conflict check against the version the editor read).
 */
export async function tryInTwin(services: Services, argument?: unknown): Promise<void> {
    const document = documentFor(argument);
    if (!document) {
        await showWarningMessage('Hotfix: Try in Twin works on an open container file (a hotfix:// editor).');
        return;
    }
    const uri = serverUri(document.uri as UriParts);
    const data = Buffer.from(document.getText(), 'utf8').toString('base64');
    const probe = services.settings().defaultProbe.trim();
    const result = await withServerProgress(`Trying ${baseName(document)} in a twin…`, (options) =>
        services.server.executeCommand('hotfix.try', { uri, data, ...(probe ? { probe } : {}) }, options),
    );
    const message = describeTry(result);
    if (!result.healthy) {
        await showWarningMessage(message);
        return;
    }
    if ((await showInformationMessage(message, {}, SAVE_TO_LIVE)) === SAVE_TO_LIVE) {
        await document.save();
    }
}

/** The verdict in one message: healthy with its time, or why not with the twin's last log lines. */
export function describeTry(result: TryResult): string {
    const seconds = `${result.seconds.toFixed(2)} s`;
    if (result.healthy) {
        return `${result.container}: healthy in its twin after ${seconds} (${result.probe}: ${result.result.detail}). Production untouched.`;
    }
    const verdict = result.verdict === 'refused' ? 'refused (check failed)' : 'UNHEALTHY';
    const log = result.log ? ` Twin's log: ${result.log.split('\n').slice(-LOG_LINES_SHOWN).join(' | ')}` : '';
    return `${result.container}: ${verdict} in its twin after ${seconds}: ${result.reason ?? ''}. Production untouched.${log}`;
}

function documentFor(argument: unknown): TextDocument | undefined {
    const editor = activeTextEditor();
    const uri = argument as UriParts | undefined;
    const document = editor?.document;
    if (!document || document.uri.scheme !== HOTFIX_SCHEME) {
        return undefined;
    }
    if (uri && typeof uri === 'object' && 'scheme' in uri && uri.path !== document.uri.path) {
        return undefined; // an editor title button of another editor than the active one
    }
    return document;
}

function baseName(document: TextDocument): string {
    return document.uri.path.split('/').pop() ?? document.uri.path;
}
