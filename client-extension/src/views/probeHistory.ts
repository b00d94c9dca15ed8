import { type Disposable, EventEmitter } from 'vscode';
import type { HealthResult } from '../server/protocol';

/** The last restart/probe answer per container, for the status bar. */
export class ProbeHistory implements Disposable {
    private readonly results = new Map<string, HealthResult>();
    private readonly recorded = new EventEmitter<string>();
    readonly onDidRecord = this.recorded.event;

    record(container: string, result: HealthResult): void {
        this.results.set(container, result);
        this.recorded.fire(container);
    }

    last(container: string): HealthResult | undefined {
        return this.results.get(container);
    }

    dispose(): void {
        this.recorded.dispose();
    }
}
