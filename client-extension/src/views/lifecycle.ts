import {
    type Disposable,
    type Event,
    EventEmitter,
    ProgressLocation,
    StatusBarAlignment,
    type StatusBarItem,
    window,
} from 'vscode';
import { executeCommand, showErrorMessage, showInformationMessage, showQuickPick, withProgress } from '../common/vscodeapi';
import type { HotfixServer } from '../server/hotfixServer';
import { DID_CHANGE_CONTAINERS, LIFECYCLE, type HotfixLine, type HotfixStage } from '../server/protocol';

/** A live hotfix not harvested after this long is debt (the CLI's HOTFIX_UNHARVESTED_AFTER default). */
export const UNHARVESTED_AFTER_SECONDS = 4 * 3600;
/** How often the stages are asked for; the server also judges them every few seconds. */
export const LIFECYCLE_REFRESH_MS = 15_000;
export const LIFECYCLE_COMMAND = 'hotfix.lifecycleActions';
const HARVEST_COMMAND = 'hotfix.harvestToBranch';

/** Each container's hotfix stage by name: a present container's own, a gone one's on its successors. */
export function stageByContainer(lines: readonly HotfixLine[]): Map<string, HotfixStage> {
    const stages = new Map<string, HotfixStage>();
    for (const line of lines) {
        const holders = line.present ? line.containers : line.successors;
        for (const name of holders) {
            if (!stages.has(name) || line.stage === 'lost') {
                stages.set(name, line.stage);
            }
        }
    }
    return stages;
}

/** The Containers view's row description, with the container's hotfix stage. */
export function describeWithStage(description: string, stage: HotfixStage | undefined): string {
    return stage ? `${description} · hotfix: ${stage}` : description;
}

export interface LifecycleAction {
    action: 'reapply' | 'harvest';
    container: string;
    label: string;
    detail: string;
}

/** What needs doing: reapply each lost hotfix, harvest each live one older than the limit. */
export function lifecycleActions(
    lines: readonly HotfixLine[],
    unharvestedAfter = UNHARVESTED_AFTER_SECONDS,
): LifecycleAction[] {
    const actions: LifecycleAction[] = [];
    for (const line of lines) {
        const name = line.containers[0];
        if (line.stage === 'lost') {
            actions.push({
                action: 'reapply',
                container: name,
                label: `$(warning) Reapply ${name}`,
                detail: `${line.files.join(', ')} — ${line.notes.join('; ') || 'lost'}`,
            });
        } else if (line.stage === 'live' && line.present && line.ageSeconds > unharvestedAfter) {
            actions.push({
                action: 'harvest',
                container: name,
                label: `$(git-branch) Harvest ${name}`,
                detail: `${line.files.join(', ')} — live for ${(line.ageSeconds / 3600).toFixed(1)} h, not harvested`,
            });
        }
    }
    return actions;
}

/** "$(warning) 1 lost  $(clock) 2 unharvested", or undefined when nothing is owed. */
export function badgeText(actions: readonly LifecycleAction[]): string | undefined {
    const lost = actions.filter((action) => action.action === 'reapply').length;
    const unharvested = actions.length - lost;
    const parts = [];
    if (lost > 0) {
        parts.push(`$(warning) ${lost} lost`);
    }
    if (unharvested > 0) {
        parts.push(`$(clock) ${unharvested} unharvested`);
    }
    return parts.length > 0 ? parts.join('  ') : undefined;
}

/** The hotfixes' stages, asked of the server now and then (and after `refresh`). */
export class LifecycleTracker implements Disposable {
    private lines: HotfixLine[] = [];
    private stages = new Map<string, HotfixStage>();
    private readonly changes = new EventEmitter<void>();
    readonly onDidChange: Event<void> = this.changes.event;
    private readonly timer: ReturnType<typeof setInterval> | undefined;

    private readonly listening: Disposable | undefined;

    /** ``notifications``: the server's; a hotfix that became lost, or a container created or
     * removed, is asked about at once instead of at the next ``refreshMs``. */
    constructor(
        private readonly server: HotfixServer,
        refreshMs = LIFECYCLE_REFRESH_MS,
        notifications?: Event<{ method: string; params: unknown }>,
    ) {
        this.timer = refreshMs > 0 ? setInterval(() => void this.refresh(), refreshMs) : undefined;
        this.listening = notifications?.(({ method }) => {
            if (method === LIFECYCLE || method === DID_CHANGE_CONTAINERS) {
                void this.refresh();
            }
        });
    }

    dispose(): void {
        if (this.timer) {
            clearInterval(this.timer);
        }
        this.listening?.dispose();
        this.changes.dispose();
    }

    stageOf(container: string): HotfixStage | undefined {
        return this.stages.get(container);
    }

    current(): readonly HotfixLine[] {
        return this.lines;
    }

    async refresh(): Promise<void> {
        let lines: HotfixLine[];
        try {
            ({ hotfixes: lines } = await this.server.executeCommand('hotfix.status', {}));
        } catch {
            return; // the server is down or restarting: keep what was known
        }
        if (JSON.stringify(lines) === JSON.stringify(this.lines)) {
            return;
        }
        this.lines = lines;
        this.stages = stageByContainer(lines);
        this.changes.fire();
    }
}

/** The badge for lost and unharvested hotfixes; a click offers Reapply / Harvest. */
export class LifecycleStatusBar implements Disposable {
    private readonly item: StatusBarItem;
    private readonly subscription: Disposable;

    constructor(private readonly tracker: LifecycleTracker) {
        this.item = window.createStatusBarItem('hotfix.lifecycle', StatusBarAlignment.Left, 49);
        this.item.name = 'Container Hotfix: lifecycle';
        this.item.command = LIFECYCLE_COMMAND;
        this.subscription = tracker.onDidChange(() => this.update());
        this.update();
    }

    dispose(): void {
        this.subscription.dispose();
        this.item.dispose();
    }

    update(): void {
        const actions = lifecycleActions(this.tracker.current());
        const text = badgeText(actions);
        if (!text) {
            this.item.hide();
            return;
        }
        this.item.text = text;
        this.item.tooltip = actions.map((action) => `${action.label.replace(/^\$\([^)]*\) /, '')}: ${action.detail}`).join('\n');
        this.item.show();
    }
}

/** The badge's command: pick what to do, then reapply through the server or start a harvest. */
export async function runLifecycleAction(server: HotfixServer, tracker: LifecycleTracker): Promise<void> {
    const actions = lifecycleActions(tracker.current());
    if (actions.length === 0) {
        await showInformationMessage('Hotfix: no lost or unharvested hotfix.');
        return;
    }
    const picked = await showQuickPick(actions, { placeHolder: 'Lost or unharvested hotfixes' });
    if (!picked) {
        return;
    }
    if (picked.action === 'harvest') {
        await executeCommand(HARVEST_COMMAND, { kind: 'container', container: { name: picked.container } });
        return;
    }
    try {
        const result = await withProgress({ location: ProgressLocation.Notification, title: `Reapplying ${picked.container}'s hotfix` }, () =>
            server.executeCommand('hotfix.reapply', { old: picked.container, restart: true }),
        );
        const healthy = result.health ? (result.health.healthy ? ', healthy' : ', NOT healthy') : '';
        await showInformationMessage(`Hotfix: reapplied onto ${result.container.name} (${result.files.join(', ')})${healthy}.`);
    } catch (error) {
        await showErrorMessage(`Hotfix: reapply refused: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
        await tracker.refresh();
    }
}
