import { type Disposable, EventEmitter, type Memento } from 'vscode';
import type { HealthResult } from '../server/protocol';

const KEY = 'hotfix.lastProbes';

/**
 * The last restart/probe answer per container, for the status bar and the
 * Containers view; kept in the workspace state, so a reload does not lose it.
 */
export class ProbeHistory implements Disposable {
    private readonly results: Map<string, HealthResult>;
    private readonly recorded = new EventEmitter<string>();
    readonly onDidRecord = this.recorded.event;
    private readonly wentLive = new EventEmitter<string>();
    /** A restart came back healthy: the container runs what was saved before it. */
    readonly onDidGoLive = this.wentLive.event;

    constructor(private readonly storage?: Memento) {
        this.results = new Map(Object.entries(storage?.get<Record<string, HealthResult>>(KEY) ?? {}));
    }

    record(container: string, result: HealthResult, restarted = false): void {
        this.results.set(container, result);
        void this.storage?.update(KEY, Object.fromEntries(this.results));
        this.recorded.fire(container);
        if (restarted && result.healthy) {
            this.wentLive.fire(container);
        }
    }

    last(container: string): HealthResult | undefined {
        return this.results.get(container);
    }

    dispose(): void {
        this.recorded.dispose();
        this.wentLive.dispose();
    }
}
