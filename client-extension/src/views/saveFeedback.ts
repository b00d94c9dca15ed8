import { type Disposable, StatusBarAlignment, type StatusBarItem, ThemeColor, window } from 'vscode';
import { COMMAND } from '../commands/services';
import { containerNames } from '../fs/containerNames';
import type { ContainerWrite } from '../fs/hotfixFileSystem';
import { baseName } from '../fs/uris';
import type { ProbeHistory } from './probeHistory';

/** The transient status-bar text after a save went into a container. */
export function savedMessage(write: ContainerWrite): string {
    const name = baseName(write.uri.path);
    const container = containerNames.restore(write.uri.authority);
    if (write.forced) {
        return `$(warning) ${name} saved in ${container} anyway, despite the problem (marked as forced in the journal)`;
    }
    return write.checkpointed
        ? `$(check) ${name} saved in ${container} — checkpoint taken`
        : `$(check) ${name} saved in ${container}`;
}

/** "$(debug-restart) web, api: not live yet" */
export function notLiveText(containers: readonly string[]): string {
    return `$(debug-restart) ${containers.join(', ')}: not live yet`;
}

/**
 * What a save did and what is next, without a modal: a transient "saved —
 * checkpoint taken", and a persistent "not live yet" until the container
 * came back healthy from a restart (click: Restart and Probe).
 */
export class SaveFeedback implements Disposable {
    private readonly pending = new Set<string>();
    private readonly item: StatusBarItem;
    private readonly subscriptions: Disposable[];

    constructor(writes: (listener: (write: ContainerWrite) => void) => Disposable, probes: ProbeHistory) {
        this.item = window.createStatusBarItem('hotfix.notLive', StatusBarAlignment.Left, 49);
        this.item.name = 'Container Hotfix: not live yet';
        this.item.backgroundColor = new ThemeColor('statusBarItem.warningBackground');
        this.subscriptions = [
            this.item,
            writes((write) => this.saved(write)),
            probes.onDidGoLive((container) => this.live(container)),
        ];
    }

    dispose(): void {
        this.subscriptions.forEach((subscription) => subscription.dispose());
    }

    /** Containers saved into since their last healthy restart. */
    notLive(): string[] {
        return [...this.pending].sort();
    }

    private saved(write: ContainerWrite): void {
        window.setStatusBarMessage(savedMessage(write), 8000);
        this.pending.add(containerNames.restore(write.uri.authority));
        this.update();
    }

    private live(container: string): void {
        this.pending.delete(container);
        this.update();
    }

    private update(): void {
        const containers = this.notLive();
        if (containers.length === 0) {
            this.item.hide();
            return;
        }
        this.item.text = notLiveText(containers);
        this.item.tooltip =
            `${containers.join(', ')} still run${containers.length === 1 ? 's' : ''} the code from before your save ` +
            'until restarted or reloaded. Click to restart and probe.';
        const node = { kind: 'container', container: { name: containers[0] } }; // as a Containers view row
        this.item.command = { command: COMMAND.restartAndProbe, title: 'Restart and Probe', arguments: [node] };
        this.item.show();
    }
}
