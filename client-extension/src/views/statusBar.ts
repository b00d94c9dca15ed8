import { type Disposable, StatusBarAlignment, type StatusBarItem, window } from 'vscode';
import { containerNames } from '../fs/containerNames';
import { CHECKPOINT_SCHEME, HOTFIX_SCHEME } from '../fs/uris';
import type { HealthResult } from '../server/protocol';
import type { ChangeTracker } from './changeTracker';
import type { ProbeHistory } from './probeHistory';

export interface StatusBarState {
    container: string;
    changedFiles: number;
    lastProbe?: HealthResult;
}

/** "$(vm) web  $(diff) 2  $(pass) 1.4 s" */
export function statusBarText(state: StatusBarState): string {
    const parts = [`$(vm) ${state.container}`];
    if (state.changedFiles > 0) {
        parts.push(`$(diff) ${state.changedFiles}`);
    }
    if (state.lastProbe) {
        parts.push(`${state.lastProbe.healthy ? '$(pass)' : '$(error)'} ${state.lastProbe.seconds.toFixed(1)} s`);
    }
    return parts.join('  ');
}

export function statusBarTooltip(state: StatusBarState): string {
    const lines = [
        `Container: ${state.container}`,
        `Changed files: ${state.changedFiles}`,
        state.lastProbe
            ? `Last probe: ${state.lastProbe.healthy ? 'healthy' : 'NOT healthy'} after ${state.lastProbe.seconds.toFixed(1)} s` +
              (state.lastProbe.probe?.detail ? ` — ${state.lastProbe.probe.detail}` : '')
            : 'Last probe: none yet',
        'Click to show changes',
    ];
    return lines.join('\n');
}

/** The active container document's container, its changed-file count and last probe result. */
export class HotfixStatusBar implements Disposable {
    private readonly item: StatusBarItem;
    private readonly subscriptions: Disposable[];

    constructor(
        private readonly changes: ChangeTracker,
        private readonly probes: ProbeHistory,
        showChangesCommand: string,
    ) {
        this.item = window.createStatusBarItem('hotfix.status', StatusBarAlignment.Left, 50);
        this.item.name = 'Container Hotfix';
        this.item.command = showChangesCommand;
        this.subscriptions = [
            this.item,
            window.onDidChangeActiveTextEditor(() => this.update()),
            changes.onDidChange(() => this.update()),
            probes.onDidRecord(() => this.update()),
        ];
        this.update();
    }

    dispose(): void {
        this.subscriptions.forEach((subscription) => subscription.dispose());
    }

    update(): void {
        const uri = window.activeTextEditor?.document.uri;
        if (!uri || (uri.scheme !== HOTFIX_SCHEME && uri.scheme !== CHECKPOINT_SCHEME)) {
            this.item.hide();
            return;
        }
        const container = containerNames.restore(uri.authority);
        const state: StatusBarState = {
            container,
            changedFiles: this.changes.list(container).length,
            lastProbe: this.probes.last(container),
        };
        this.item.text = statusBarText(state);
        this.item.tooltip = statusBarTooltip(state);
        this.item.show();
    }
}
