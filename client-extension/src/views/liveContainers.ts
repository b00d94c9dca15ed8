import { type Disposable, type Event, window } from 'vscode';
import { executeCommand } from '../common/vscodeapi';
import { DID_CHANGE_CONTAINERS } from '../server/protocol';
import type { ChangeTracker } from './changeTracker';
import type { ContainersTreeProvider } from './containersView';
import type { ProbeHistory } from './probeHistory';

/** The context key the Containers view's "cannot be reached" welcome content shows on. */
export const UNREACHABLE_CONTEXT = 'hotfix.containersUnreachable';

/**
 * The Containers view, kept current without a Refresh: the server's
 * `hotfix/didChangeContainers`, new change counts and probe results each
 * refresh it; when the list cannot be had, its welcome content offers a way on.
 */
export function showLiveContainers(
    containers: ContainersTreeProvider,
    serverNotifications: Event<{ method: string }>,
    changes: ChangeTracker,
    probes: ProbeHistory,
): Disposable[] {
    const view = window.createTreeView('hotfix.containers', { treeDataProvider: containers });
    return [
        view,
        containers.onDidChangeReachability((problem) => {
            view.message = problem ? `Cannot list the containers: ${problem}` : undefined;
            void executeCommand('setContext', UNREACHABLE_CONTEXT, problem !== undefined);
        }),
        serverNotifications(({ method }) => {
            if (method === DID_CHANGE_CONTAINERS) {
                containers.refresh();
            }
        }),
        changes.onDidChange(() => containers.refresh()),
        probes.onDidRecord(() => containers.refresh()),
    ];
}
