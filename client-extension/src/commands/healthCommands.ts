import { ProgressLocation, Uri } from 'vscode';
import { showInformationMessage, showInputBox, showWarningMessage, withProgress } from '../common/vscodeapi';
import { describeServerError } from '../fs/errors';
import type { CommandOptions } from '../server/hotfixServer';
import type { HealthResult, RevertTarget } from '../server/protocol';
import { showChanges } from './fileCommands';
import {
    describeHealth,
    describeRevertAndRestart,
    probeArgs,
    restartArgs,
    revertAndRestartArgs,
    revertedUris,
} from './params';
import { containerTargetOrPick } from './pickers';
import { progressReporter } from './progress';
import type { Services } from './services';
import type { Target } from './targets';

const REVERT_AND_RESTART = 'Revert and Restart';
const TO_LAST_GOOD = 'Revert to Last Good and Restart';
const TO_CHECKPOINT = 'Revert to Checkpoint and Restart';
const SHOW_CHANGES = 'Show Changes';
const ENTER_PROBE = 'Enter Probe…';

/** Restart and Probe: restart, wait for the probe, say how long it took; offer revert if unhealthy. */
export async function restartAndProbe(services: Services, argument?: unknown): Promise<void> {
    const target = await containerTargetOrPick(argument, services.server, 'Container to restart and probe');
    if (target) {
        await restartWithProgress(services, target);
    }
}

/** Probe: ask the container's health probe now, without restarting. */
export async function probe(services: Services, argument?: unknown): Promise<void> {
    const target = await containerTargetOrPick(argument, services.server, 'Container to probe');
    if (target) {
        await probeWithProgress(services, target);
    }
}

async function restartWithProgress(services: Services, target: Target, probeSpec?: string): Promise<void> {
    const title = `Restarting ${target.container}`;
    try {
        const args = restartArgs(target, probeSpec ?? services.settings().defaultProbe);
        const result = await withServerProgress(`${title}…`, (options) =>
            services.server.executeCommand('hotfix.restart', args, options),
        );
        await reportHealth(services, target, result, true);
    } catch (error) {
        await reportFailure(title, error, (typed) => restartWithProgress(services, target, typed));
    }
}

async function probeWithProgress(services: Services, target: Target, probeSpec?: string): Promise<void> {
    const title = `Probing ${target.container}`;
    try {
        const args = probeArgs(target, probeSpec ?? services.settings().defaultProbe);
        const result = await withServerProgress(`${title}…`, (options) =>
            services.server.executeCommand('hotfix.probe', args, options),
        );
        await reportHealth(services, target, result);
    } catch (error) {
        await reportFailure(title, error, (typed) => probeWithProgress(services, target, typed));
    }
}

async function reportHealth(services: Services, target: Target, result: HealthResult, restarted = false): Promise<void> {
    services.probes.record(target.container, result, restarted);
    if (result.reverted?.length) {
        services.changes.scheduleRefresh();
    }
    const message = describeHealth(target.container, result);
    if (result.healthy) {
        await showInformationMessage(message);
        return;
    }
    // With a last good version known, both ways back are offered; the server falls back to
    // the checkpoint per file where it has none.
    const reverts = result.lastGood !== undefined ? [TO_LAST_GOOD, TO_CHECKPOINT] : [REVERT_AND_RESTART];
    const choice = await showWarningMessage(message, {}, ...reverts, SHOW_CHANGES);
    if (choice === TO_LAST_GOOD || choice === TO_CHECKPOINT || choice === REVERT_AND_RESTART) {
        await revertAndRestart(services, target, choice === TO_CHECKPOINT ? 'checkpoint' : 'last-good');
    } else if (choice === SHOW_CHANGES) {
        await showChanges(services, { kind: 'container', container: { name: target.container } });
    }
}

/**
 * Revert and restart as one server call: the restart never waits on a notification, and a
 * revert step that failed is retried by the server once the container runs. The outcome,
 * ending with the container's real state, is shown last.
 */
export async function revertAndRestart(services: Services, target: Target, to: RevertTarget): Promise<void> {
    const title = `Reverting and restarting ${target.container}`;
    try {
        const args = revertAndRestartArgs(target, to, services.settings().defaultProbe);
        const result = await withServerProgress(`${title}…`, (options) =>
            services.server.executeCommand('hotfix.revert', args, options),
        );
        revertedUris(target, result.reverted).forEach((uri) => services.files.notifyChanged(Uri.parse(uri, true)));
        services.changes.scheduleRefresh();
        if (result.restart) {
            services.probes.record(target.container, result.restart);
        }
        const message = describeRevertAndRestart(target.container, result);
        await (result.final?.healthy && !result.files?.some((f) => f.error) ? showInformationMessage : showWarningMessage)(message);
    } catch (error) {
        await showWarningMessage(`${title} failed: ${describeServerError(error).message}`);
    }
}

/**
 * A refused restart/probe. `ValidationFailed` here means the server could not
 * tell how to probe the container (no published port, no HEALTHCHECK): offer
 * to type a probe and try again with it.
 */
async function reportFailure(title: string, error: unknown, retryWithProbe: (probeSpec: string) => Promise<void>) {
    const failure = describeServerError(error);
    if (failure.code !== 'ValidationFailed') {
        await showWarningMessage(`${title} failed: ${failure.message}`);
        return;
    }
    const choice = await showWarningMessage(`${title} failed: ${failure.message}`, {}, ENTER_PROBE);
    if (choice !== ENTER_PROBE) {
        return;
    }
    const typed = await showInputBox({
        title,
        prompt: 'Health probe (set hotfix.probe.default to keep one)',
        placeHolder: 'http://127.0.0.1:8001/health or tcp:127.0.0.1:5432',
    });
    if (typed?.trim()) {
        await retryWithProbe(typed.trim());
    }
}

/** A long server command under a cancellable notification fed by the server's progress reports. */
export function withServerProgress<T>(title: string, run: (options: CommandOptions) => Promise<T>): Thenable<T> {
    return withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
        run({ onProgress: progressReporter(progress, title), token }),
    );
}

/** Like {@link withServerProgress}; a failure becomes a warning and `undefined`. */
export async function runWithProgress<T>(
    title: string,
    run: (options: CommandOptions) => Promise<T>,
): Promise<T | undefined> {
    try {
        return await withServerProgress(title, run);
    } catch (error) {
        await showWarningMessage(`${title.replace(/…$/, '')} failed: ${describeServerError(error).message}`);
        return undefined;
    }
}
