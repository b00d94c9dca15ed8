import type { CancellationToken, Event } from 'vscode';
import type { BodyTransfer, Commands, RequestMethod, Requests, ServerCommand } from './protocol';

/** A work-done progress report from the server ($/progress). */
export interface WorkProgress {
    message?: string;
    percentage?: number;
}

export interface CommandOptions {
    /** Receives the server's $/progress reports for this command. */
    onProgress?: (progress: WorkProgress) => void;
    token?: CancellationToken;
}

/**
 * Everything the extension asks of `hotfix lsp`. The language client implements
 * it; unit tests pass a fake.
 */
export interface HotfixServer {
    request<M extends RequestMethod>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']>;
    executeCommand<C extends ServerCommand>(
        command: C,
        args: Commands[C]['args'],
        options?: CommandOptions,
    ): Promise<Commands[C]['result']>;
    /**
     * The body transfer the running server agreed to (big contents as spool
     * files), or undefined: contents go inline as base64.
     */
    bodyTransfer(): Promise<BodyTransfer | undefined>;
    /** `hotfix/didChangeFile`: the URI (as the server wrote it) of a file someone else changed. */
    readonly onDidChangeFile: Event<string>;
}
