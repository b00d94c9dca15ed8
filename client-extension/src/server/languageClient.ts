import { randomUUID } from 'crypto';
import * as readline from 'readline';
import { type Disposable, EventEmitter, type LogOutputChannel, Uri } from 'vscode';
import {
    CloseAction,
    type CloseHandlerResult,
    ErrorAction,
    ExecuteCommandRequest,
    LanguageClient,
    type LanguageClientOptions,
    RevealOutputChannelOn,
    type ServerOptions,
    WorkDoneProgress,
} from 'vscode-languageclient/node';
import { readSettings, type HotfixSettings } from '../common/settings';
import { serverUri } from '../fs/containerNames';
import { agreedBodyTransfer } from '../fs/contentTransfer';
import { CHECKPOINT_SCHEME, HOTFIX_SCHEME } from '../fs/uris';
import type { CommandOptions, HotfixServer } from './hotfixServer';
import {
    BODY_TRANSFER_FILE,
    type BodyTransfer,
    type Commands,
    DID_CHANGE_FILE,
    type DidChangeFileParams,
    type RequestMethod,
    type Requests,
    type ServerCommand,
} from './protocol';
import { bundledLibs, findPython, isExecutableFile } from './serverHost';
import { describeLaunch, isLaunchProblem, resolveServerLaunch, type ServerLaunch } from './serverLaunch';
import { levelOf, StderrTail } from './serverLog';
import { RestartBudget } from './restartBudget';

/** The server could not be started, in words for the user (no stack, no flags). */
export class ServerStartError extends Error {}

/**
 * vscode-languageclient shows its own notifications ("couldn't create
 * connection", "crashed 5 times"); the extension shows exactly one of its own
 * instead, with Show Log / Open Settings, so the client's go to the log only.
 */
class QuietLanguageClient extends LanguageClient {
    override error(message: string, data?: unknown, _showNotification?: boolean | 'force'): void {
        super.error(message, data, false);
    }
}

/**
 * Owns the vscode-languageclient connection to `hotfix lsp` (stdio) and
 * implements {@link HotfixServer} on top of it. Requests made before the
 * server is up wait for it, so providers can be registered at activation.
 */
export class HotfixLanguageClient implements HotfixServer, Disposable {
    private client: LanguageClient | undefined;
    private starting: Promise<LanguageClient> | undefined;
    private readonly changedFiles = new EventEmitter<string>();
    readonly onDidChangeFile = this.changedFiles.event;
    private readonly notifications = new EventEmitter<{ method: string; params: unknown }>();
    /** Other server → client notifications (e.g. `hotfix/didChangeContainers`), by method. */
    readonly onNotification = this.notifications.event;
    private readonly stopped = new EventEmitter<ServerStartError>();
    /** The running server exited and will not be restarted (it crashed too often). */
    readonly onDidStopForGood = this.stopped.event;
    private readonly stderr = new StderrTail();
    private readonly restarts = new RestartBudget(4, 3 * 60_000);
    private initialized = false;

    constructor(
        private readonly log: LogOutputChannel,
        private readonly extensionPath: string,
        private readonly notificationMethods: readonly string[] = [],
    ) {}

    /** Starts the server once; later calls share the same attempt. */
    start(): Promise<LanguageClient> {
        this.starting ??= this.createAndStart();
        return this.starting;
    }

    /** A new process with the current settings (after a settings change, or by command). */
    async restart(): Promise<void> {
        await this.stop();
        await this.start();
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.starting = undefined;
        if (client) {
            await client.dispose().catch((error: unknown) => this.log.warn(`Stopping the server: ${String(error)}`));
        }
    }

    dispose(): void {
        void this.stop();
        this.changedFiles.dispose();
        this.notifications.dispose();
        this.stopped.dispose();
    }

    async request<M extends RequestMethod>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']> {
        const client = await this.running();
        return client.sendRequest<Requests[M]['result']>(method, params);
    }

    async bodyTransfer(): Promise<BodyTransfer | undefined> {
        const client = await this.running();
        return agreedBodyTransfer(client.initializeResult?.capabilities.experimental);
    }

    async executeCommand<C extends ServerCommand>(
        command: C,
        args: Commands[C]['args'],
        options: CommandOptions = {},
    ): Promise<Commands[C]['result']> {
        const client = await this.running();
        const { onProgress, token } = options;
        // A client-chosen workDoneToken: the server reports progress on it ($/progress).
        const workDoneToken = onProgress ? `hotfix-${randomUUID()}` : undefined;
        const subscription =
            onProgress && workDoneToken
                ? client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
                      if (value.kind !== 'end') {
                          onProgress({ message: value.message, percentage: value.percentage });
                      }
                  })
                : undefined;
        try {
            const result: unknown = await client.sendRequest(
                ExecuteCommandRequest.type,
                { command, arguments: [args], workDoneToken },
                token,
            );
            return result as Commands[C]['result'];
        } finally {
            subscription?.dispose();
        }
    }

    private async running(): Promise<LanguageClient> {
        try {
            return await this.start();
        } catch (error) {
            throw new Error(
                `The Hotfix server is not running (${error instanceof Error ? error.message : String(error)}). ` +
                    'See the "Hotfix" output, then run "Hotfix: Restart Server".',
            );
        }
    }

    private async createAndStart(): Promise<LanguageClient> {
        const settings = readSettings();
        const launch = await this.chooseLaunch(settings);
        this.log.info(`Starting the Hotfix server: ${describeLaunch(launch)}`);
        const serverOptions: ServerOptions = {
            command: launch.command,
            args: launch.args,
            options: { env: launch.env },
        };
        const client = new QuietLanguageClient('hotfix', 'Hotfix Server', serverOptions, this.clientOptions(settings));
        client.onNotification(DID_CHANGE_FILE, (params: DidChangeFileParams) => this.changedFiles.fire(params.uri));
        for (const method of this.notificationMethods) {
            client.onNotification(method, (params: unknown) => this.notifications.fire({ method, params }));
        }
        this.client = client;
        this.initialized = false;
        this.stderr.clear();
        try {
            await client.start();
        } catch (error) {
            this.log.error(`The Hotfix server did not start: ${String(error)}`);
            const reason = this.stderr.reason();
            throw new ServerStartError(`it exited at start${reason ? `: ${reason}` : ''}`);
        }
        this.initialized = true;
        return client;
    }

    private async chooseLaunch(settings: HotfixSettings): Promise<ServerLaunch> {
        const libs = bundledLibs(this.extensionPath);
        const python = settings.serverCommand.length > 0 ? undefined : await findPython(settings.serverPython, process.env);
        python?.rejected.forEach((line) => this.log.info(`Not used for the server: ${line}`));
        const launch = resolveServerLaunch(settings, {
            env: process.env,
            bundledLibs: libs,
            python: python?.found?.executable,
            isExecutable: isExecutableFile,
        });
        if (isLaunchProblem(launch)) {
            this.log.error(`The Hotfix server cannot start: ${launch.problem}.`);
            throw new ServerStartError(launch.problem);
        }
        return launch;
    }

    /** After the server was up: restart it a few times, then give up with one notification. */
    private onConnectionClosed(): CloseHandlerResult {
        if (!this.initialized) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        if (this.restarts.tryTake(Date.now())) {
            this.log.warn('The Hotfix server exited; restarting it.');
            return { action: CloseAction.Restart, handled: true };
        }
        const reason = this.stderr.reason();
        this.stopped.fire(new ServerStartError(`it exited repeatedly${reason ? `: ${reason}` : ''}`));
        return { action: CloseAction.DoNotRestart, handled: true };
    }

    /** Server stderr into the Hotfix log at the level the server logged each line. */
    private pipeServerOutput(input: NodeJS.ReadableStream): void {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line) => {
            this.stderr.add(line);
            this.log[levelOf(line)](line);
        });
    }

    private clientOptions(settings: HotfixSettings): LanguageClientOptions {
        return {
            // Open container documents are what the server polls and checks (diagnostics).
            documentSelector: [{ scheme: HOTFIX_SCHEME }],
            outputChannel: this.log,
            traceOutputChannel: this.log,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            stdioOptions: {
                stdout: (input) => this.pipeServerOutput(input),
                stderr: (input) => this.pipeServerOutput(input),
            },
            initializationFailedHandler: () => false,
            errorHandler: {
                error: () => ({ action: ErrorAction.Continue, handled: true }),
                closed: () => this.onConnectionClosed(),
            },
            // The server is spawned on this host: big contents can go as spool files.
            initializationOptions: { pollInterval: settings.pollInterval, bodyTransfer: BODY_TRANSFER_FILE },
            uriConverters: {
                // Keep container names' case: Uri.toString() lower-cases the authority.
                code2Protocol: (uri) =>
                    uri.scheme === HOTFIX_SCHEME || uri.scheme === CHECKPOINT_SCHEME ? serverUri(uri) : uri.toString(),
                protocol2Code: (value) => Uri.parse(value, true),
            },
        };
    }
}
