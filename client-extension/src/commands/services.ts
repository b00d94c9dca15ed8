import type { HotfixSettings } from '../common/settings';
import type { HotfixFileSystemProvider } from '../fs/hotfixFileSystem';
import type { HotfixServer } from '../server/hotfixServer';
import type { ChangeTracker } from '../views/changeTracker';
import type { ProbeHistory } from '../views/probeHistory';

/** What the commands need; built once in extension.ts. */
export interface Services {
    server: HotfixServer;
    files: HotfixFileSystemProvider;
    changes: ChangeTracker;
    probes: ProbeHistory;
    settings: () => HotfixSettings;
}

/** Command IDs (package.json `contributes.commands`). Distinct from the server's own `hotfix.*` commands. */
export const COMMAND = {
    openContainerFile: 'hotfix.openContainerFile',
    showChanges: 'hotfix.showChanges',
    diffWithCheckpoint: 'hotfix.diffWithCheckpoint',
    revertFile: 'hotfix.revertFile',
    restartAndProbe: 'hotfix.restartAndProbe',
    probe: 'hotfix.probeContainer',
    harvestToBranch: 'hotfix.harvestToBranch',
    commitImage: 'hotfix.commitContainerImage',
    showIncidentReport: 'hotfix.showIncidentReport',
    refreshContainers: 'hotfix.refreshContainers',
    restartServer: 'hotfix.restartServer',
    showLog: 'hotfix.showLog',
} as const;
