import { ResponseError } from 'vscode-jsonrpc';
import type { HotfixServer } from '../../src/server/hotfixServer';
import type { BodyTransfer, Commands, RequestMethod, Requests, ServerCommand } from '../../src/server/protocol';
import { EventEmitter } from './vscode';

type Handler = (params: any) => unknown;

/** A scripted `hotfix lsp`: answers by method, records every call. */
export class FakeServer implements HotfixServer {
    readonly calls: { method: string; params: any }[] = [];
    private readonly handlers = new Map<string, Handler>();
    private readonly changes = new EventEmitter<string>();
    readonly onDidChangeFile = this.changes.event;
    /** What the fake agreed to at initialize; undefined: contents inline. */
    transfer: BodyTransfer | undefined;

    on<M extends RequestMethod | ServerCommand>(method: M, handler: Handler): this {
        this.handlers.set(method, handler);
        return this;
    }

    /** Makes `method` fail with a contract error code. */
    failWith(method: RequestMethod | ServerCommand, code: string, message: string): this {
        return this.on(method as RequestMethod, () => {
            throw new ResponseError(-32001, message, { code });
        });
    }

    sendDidChangeFile(uri: string): void {
        this.changes.fire(uri);
    }

    callsOf(method: string): any[] {
        return this.calls.filter((call) => call.method === method).map((call) => call.params);
    }

    async request<M extends RequestMethod>(method: M, params: Requests[M]['params']): Promise<Requests[M]['result']> {
        return this.answer(method, params) as Requests[M]['result'];
    }

    async bodyTransfer(): Promise<BodyTransfer | undefined> {
        return this.transfer;
    }

    async executeCommand<C extends ServerCommand>(command: C, args: Commands[C]['args']): Promise<Commands[C]['result']> {
        return this.answer(command, args) as Commands[C]['result'];
    }

    private answer(method: string, params: unknown): unknown {
        this.calls.push({ method, params });
        const handler = this.handlers.get(method);
        if (!handler) {
            throw new Error(`FakeServer: no answer for ${method}`);
        }
        return handler(params);
    }
}
