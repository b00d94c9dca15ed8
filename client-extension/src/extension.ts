import { type ExtensionContext, Uri, window, workspace } from 'vscode';
import { registerEntryCommands } from './commands/entryCommands';
import { offerOutsideChange, registerCompareCommands } from './commands/outsideChanges';
import { registerHotfixCommands } from './commands/register';
import { askAboutRefusal, SaveReasons } from './commands/saveRefusals';
import { COMMAND, type Services } from './commands/services';
import { registerTryInTwin } from './commands/twin';
import { readSettings, SERVER_SETTINGS } from './common/settings';
import { onWillSaveTextDocument, registerCommand } from './common/vscodeapi';
import { HotfixFileSystemProvider } from './fs/hotfixFileSystem';
import { ReadonlyContainerFileSystem } from './fs/readonlyFileSystem';
import { CHECKPOINT_SCHEME, HOTFIX_SCHEME, LIVE_SCHEME, withScheme } from './fs/uris';
import { HotfixLanguageClient } from './server/languageClient';
import { reportStartFailure, SERVER_NOTIFICATIONS } from './views/serverProblems';
import { ChangeDecorationProvider } from './views/changeDecorations';
import { ChangeTracker } from './views/changeTracker';
import { ContainersTreeProvider } from './views/containersView';
import { LIFECYCLE_COMMAND, LifecycleStatusBar, LifecycleTracker, runLifecycleAction } from './views/lifecycle';
import { showLiveContainers } from './views/liveContainers';
import { registerReadonlyDocuments, saveLastPreviewAs } from './views/readonlyDocuments';
import { SaveFeedback } from './views/saveFeedback';
import { ProbeHistory } from './views/probeHistory';
import { HotfixStatusBar } from './views/statusBar';

let runningServer: HotfixLanguageClient | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
    const log = window.createOutputChannel('Hotfix', { log: true });
    const server = new HotfixLanguageClient(log, context.extensionPath, SERVER_NOTIFICATIONS);
    runningServer = server;
    const files = new HotfixFileSystemProvider(server);
    const checkpoints = new ReadonlyContainerFileSystem(server, (uri) => uri);
    const live = new ReadonlyContainerFileSystem(server, (uri) => withScheme(uri, HOTFIX_SCHEME));
    const changes = new ChangeTracker(server, log);
    const probes = new ProbeHistory(context.workspaceState);
    const lifecycle = new LifecycleTracker(server, undefined, server.onNotification);
    const containers = new ContainersTreeProvider(server, (container) => ({
        changedFiles: changes.list(container).length,
        lastProbe: probes.last(container),
        stage: lifecycle.stageOf(container),
    }));
    const services: Services = { server, files, changes, probes, settings: readSettings };
    const saveReasons = new SaveReasons();
    files.setRefusalHandler((refusal) => askAboutRefusal(refusal, saveReasons));

    context.subscriptions.push(
        log,
        server,
        files,
        checkpoints,
        live,
        changes,
        probes,
        containers,
        lifecycle,
        new LifecycleStatusBar(lifecycle),
        lifecycle.onDidChange(() => containers.refresh()),
        registerCommand(LIFECYCLE_COMMAND, () => runLifecycleAction(server, lifecycle)),
        // Registered before the server is up: the calls wait for it (activation on onFileSystem:hotfix).
        workspace.registerFileSystemProvider(HOTFIX_SCHEME, files, { isCaseSensitive: true }),
        workspace.registerFileSystemProvider(CHECKPOINT_SCHEME, checkpoints, { isCaseSensitive: true, isReadonly: true }),
        workspace.registerFileSystemProvider(LIVE_SCHEME, live, { isCaseSensitive: true, isReadonly: true }),
        window.registerFileDecorationProvider(new ChangeDecorationProvider(changes)),
        ...showLiveContainers(containers, server.onNotification, changes, probes),
        new HotfixStatusBar(changes, probes, COMMAND.showChanges),
        new SaveFeedback((listener) => files.onDidWrite(listener), probes),
        ...registerHotfixCommands(services),
        registerTryInTwin(services),
        ...registerEntryCommands(),
        registerCommand(COMMAND.refreshContainers, () => {
            containers.refresh();
            changes.scheduleRefresh(0);
        }),
        registerCommand(COMMAND.restartServer, () => restartServer(server, containers, changes)),
        registerCommand(COMMAND.showLog, () => log.show()),
        registerReadonlyDocuments(),
        registerCommand('hotfix.saveReportAs', () => saveLastPreviewAs()),
        files.onDidModify(() => changes.scheduleRefresh()),
        onWillSaveTextDocument((event) => {
            if (event.document.uri.scheme === HOTFIX_SCHEME) {
                saveReasons.note(event.document.uri, event.reason);
            }
        }),
        server.onDidChangeFile((uri) => {
            changes.scheduleRefresh();
            void offerOutsideChange(Uri.parse(uri, true), files);
        }),
        ...registerCompareCommands(files),
        workspace.onDidChangeConfiguration((event) => {
            if (SERVER_SETTINGS.some((setting) => event.affectsConfiguration(setting))) {
                log.info('Server settings changed; restarting the server.');
                void restartServer(server, containers, changes);
            }
        }),
    );

    context.subscriptions.push(server.onDidStopForGood((error) => void reportStartFailure(error)));
    server.start().then(
        () => Promise.all([changes.refresh(), lifecycle.refresh()]),
        (error: unknown) => void reportStartFailure(error),
    );
}

/** Lets the server exit cleanly (shutdown/exit) before the extension host goes. */
export async function deactivate(): Promise<void> {
    await runningServer?.stop();
    runningServer = undefined;
}

async function restartServer(
    server: HotfixLanguageClient,
    containers: ContainersTreeProvider,
    changes: ChangeTracker,
): Promise<void> {
    try {
        await server.restart();
        containers.refresh();
        await changes.refresh();
    } catch (error) {
        await reportStartFailure(error);
    }
}
