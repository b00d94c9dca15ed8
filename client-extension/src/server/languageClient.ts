import { randomUUID } from 'crypto';
import * as fs from 'fs';
import { type Disposable, EventEmitter, type LogOutputChannel, Uri } from 'vscode';
import {
    ExecuteCommandRequest,
    LanguageClient,
    type LanguageClientOptions,
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
import { describeLaunch, resolveServerLaunch } from './serverLaunch';

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

    constructor(private readonly log: LogOutputChannel) {}

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
        const launch = resolveServerLaunch(settings, process.env, isExecutableFile);
        this.log.info(`Starting the Hotfix server: ${describeLaunch(launch)}`);
        const serverOptions: ServerOptions = {
            command: launch.command,
            args: launch.args,
            options: { env: launch.env },
        };
        const client = new LanguageClient('hotfix', 'Hotfix Server', serverOptions, this.clientOptions(settings));
        client.onNotification(DID_CHANGE_FILE, (params: DidChangeFileParams) => this.changedFiles.fire(params.uri));
        this.client = client;
        try {
            await client.start();
        } catch (error) {
            this.log.error(`The Hotfix server did not start: ${String(error)}`);
            throw error;
        }
        return client;
    }

    private clientOptions(settings: HotfixSettings): LanguageClientOptions {
        return {
            // Open container documents are what the server polls and checks (diagnostics).
            documentSelector: [{ scheme: HOTFIX_SCHEME }],
            outputChannel: this.log,
            traceOutputChannel: this.log,
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

function isExecutableFile(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}
