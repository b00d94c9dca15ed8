import { type Disposable, EventEmitter, type LogOutputChannel, Uri } from 'vscode';
import { containerNames, serverUri } from '../fs/containerNames';
import type { HotfixServer } from '../server/hotfixServer';
import type { ChangeStatus } from '../server/protocol';

export interface Change {
    uri: Uri;
    checkpointUri: Uri;
    status: ChangeStatus;
}

/**
 * The server's list of files changed since their checkpoints (`hotfix/changes`),
 * kept for file decorations, the status bar and "Show Changes".
 */
export class ChangeTracker implements Disposable {
    private byKey = new Map<string, Change>();
    private readonly changed = new EventEmitter<Uri[]>();
    /** URIs whose change status may have changed. */
    readonly onDidChange = this.changed.event;
    private timer: ReturnType<typeof setTimeout> | undefined;

    constructor(
        private readonly server: HotfixServer,
        private readonly log: LogOutputChannel,
    ) {}

    dispose(): void {
        clearTimeout(this.timer);
        this.changed.dispose();
    }

    /** Coalesces bursts (a save of several files, a revert) into one request. */
    scheduleRefresh(delayMs = 250): void {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), delayMs);
    }

    async refresh(): Promise<void> {
        let changes: Change[];
        try {
            const result = await this.server.request('hotfix/changes', {});
            changes = result.changes.map((change) => ({
                uri: Uri.parse(change.uri, true),
                checkpointUri: Uri.parse(change.checkpointUri, true),
                status: change.status,
            }));
        } catch (error) {
            this.log.warn(`Could not list changed files: ${error instanceof Error ? error.message : String(error)}`);
            return;
        }
        const previous = [...this.byKey.values()].map((change) => change.uri);
        changes.forEach((change) => containerNames.learnFromAuthority(change.uri.authority));
        this.byKey = new Map(changes.map((change) => [serverUri(change.uri), change]));
        this.changed.fire([...previous, ...changes.map((change) => change.uri)]);
    }

    statusOf(uri: Uri): ChangeStatus | undefined {
        return this.byKey.get(serverUri(uri))?.status;
    }

    /** Changes of one container (by the name or ID its URIs use), or of all. */
    list(container?: string): Change[] {
        const all = [...this.byKey.values()];
        if (container === undefined) {
            return all;
        }
        const name = containerNames.restore(container);
        return all.filter((change) => containerNames.restore(change.uri.authority) === name);
    }
}
