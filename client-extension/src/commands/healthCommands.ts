import { ProgressLocation } from 'vscode';
import { showInformationMessage, showWarningMessage, withProgress } from '../common/vscodeapi';
import { describeServerError } from '../fs/errors';
import type { CommandOptions } from '../server/hotfixServer';
import type { HealthResult } from '../server/protocol';
import { revert, showChanges } from './fileCommands';
import { describeHealth, probeArgs, restartArgs } from './params';
import { containerTargetOrPick } from './pickers';
import { progressReporter } from './progress';
import type { Services } from './services';
import type { Target } from './targets';

const REVERT_AND_RESTART = 'Revert and Restart';
const SHOW_CHANGES = 'Show Changes';

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
    if (!target) {
        return;
    }
    const result = await runWithProgress(`Probing ${target.container}…`, (options) =>
        services.server.executeCommand('hotfix.probe', probeArgs(target, services.settings().defaultProbe), options),
    );
    if (result) {
        await reportHealth(services, target, result);
    }
}

async function restartWithProgress(services: Services, target: Target): Promise<void> {
    const result = await runWithProgress(`Restarting ${target.container}…`, (options) =>
        services.server.executeCommand('hotfix.restart', restartArgs(target, services.settings().defaultProbe), options),
    );
    if (result) {
        await reportHealth(services, target, result);
    }
}

async function reportHealth(services: Services, target: Target, result: HealthResult): Promise<void> {
    services.probes.record(target.container, result);
    if (result.reverted?.length) {
        services.changes.scheduleRefresh();
    }
    const message = describeHealth(target.container, result);
    if (result.healthy) {
        await showInformationMessage(message);
        return;
    }
    const choice = await showWarningMessage(message, {}, REVERT_AND_RESTART, SHOW_CHANGES);
    if (choice === REVERT_AND_RESTART) {
        if (await revert(services, { container: target.container, engine: target.engine })) {
            await restartWithProgress(services, target);
        }
    } else if (choice === SHOW_CHANGES) {
        await showChanges(services, { kind: 'container', container: { name: target.container } });
    }
}

/**
 * Runs a long server command under a cancellable notification fed by the
 * server's progress reports; failures become an error notification.
 */
export async function runWithProgress<T>(
    title: string,
    run: (options: CommandOptions) => Promise<T>,
): Promise<T | undefined> {
    try {
        return await withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
            run({ onProgress: progressReporter(progress), token }),
        );
    } catch (error) {
        await showWarningMessage(`${title.replace(/…$/, '')} failed: ${describeServerError(error).message}`);
        return undefined;
    }
}
