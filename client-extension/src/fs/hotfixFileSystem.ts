import {
    Disposable,
    EventEmitter,
    type FileChangeEvent,
    FileChangeType,
    type FileStat,
    type FileSystemProvider,
    type FileType,
    Uri,
} from 'vscode';
import type { HotfixServer } from '../server/hotfixServer';
import { describeServerError, type ServerFailure } from './errors';
import { receiveContent, sendContent } from './contentTransfer';
import { asFileSystemCall, toFileSystemError } from './fileSystemErrors';
import { serverUri } from './containerNames';
import { ServerUriResolver } from './serverUriResolver';
import { VersionTracker } from './versionTracker';

import { type SaveRefusal, refusalOf } from './saveRefusal';

export type { SaveRefusal } from './saveRefusal';

/** The user's answer to a refused save: write again forced / over the newer copy, or keep editing. */
export type RefusalAnswer = 'force' | 'overwrite' | 'keep';

/** Asks the user about a refused save; the save waits for the answer. */
export type RefusalHandler = (refusal: SaveRefusal) => Promise<RefusalAnswer>;

/** A write the server accepted. */
export interface ContainerWrite {
    uri: Uri;
    /** The server took a checkpoint of the original (the first write of this file). */
    checkpointed: boolean;
    /** Written over a refusal (syntax error, protected container) at the user's word. */
    forced: boolean;
}

/**
 * `hotfix://CONTAINER/path`: every call is forwarded to the server; this class
 * only translates (URIs, contents, errors) and remembers content versions.
 * Contents go as base64, or as spool files when they are big and the server
 * agreed to it (see `contentTransfer`).
 */
export class HotfixFileSystemProvider implements FileSystemProvider, Disposable {
    private readonly fileChanges = new EventEmitter<FileChangeEvent[]>();
    readonly onDidChangeFile = this.fileChanges.event;

    private readonly writes = new EventEmitter<ContainerWrite>();
    /** After a save went into the container (for "checkpoint taken" / "not live yet"). */
    readonly onDidWrite = this.writes.event;

    /** Without a handler (tests, before activation ends) a refused save just fails. */
    private refusalHandler: RefusalHandler = async () => 'keep';

    private readonly modifications = new EventEmitter<Uri>();
    /** After this provider changed a container's files (to refresh change markers). */
    readonly onDidModify = this.modifications.event;

    private readonly versions = new VersionTracker();
    private readonly uris: ServerUriResolver;
    private readonly subscriptions: Disposable[];

    constructor(private readonly server: HotfixServer) {
        this.uris = new ServerUriResolver(server);
        this.subscriptions = [
            this.fileChanges,
            this.writes,
            this.modifications,
            server.onDidChangeFile((uri) => this.notifyChanged(Uri.parse(uri, true))),
        ];
    }

    dispose(): void {
        this.subscriptions.forEach((subscription) => subscription.dispose());
    }

    /**
     * Tells VS Code the file changed, so it stats it again: a clean editor
     * reloads, and the next save of a dirty one meets VS Code's own
     * "file modified since" check (which needs the server's real mtimes).
     */
    notifyChanged(uri: Uri): void {
        this.fileChanges.fire([{ type: FileChangeType.Changed, uri }]);
    }

    /**
     * Who answers a refused save. The save waits for the answer and, if the
     * user chooses to write anyway, succeeds: VS Code then shows no "Failed
     * to save" of its own, so the user sees one message per refusal.
     */
    setRefusalHandler(handler: RefusalHandler): void {
        this.refusalHandler = handler;
    }

    /** After a Conflict, the user chose to overwrite the container's copy on the next save. */
    allowOverwriteOnce(uri: Uri): void {
        this.versions.allowOverwriteOnce(serverUri(uri));
    }

    /** After ValidationFailed, the user chose "Save anyway" for the next save. */
    forceNextWrite(uri: Uri): void {
        this.versions.forceNextWrite(serverUri(uri));
    }

    watch(): Disposable {
        // The server watches the documents the client reports open (didOpen/didClose)
        // and sends hotfix/didChangeFile; there is nothing to start per watch.
        return new Disposable(() => undefined);
    }

    async stat(uri: Uri): Promise<FileStat> {
        const key = await this.uris.resolve(uri);
        const stat = await asFileSystemCall(() => this.server.request('hotfix/stat', { uri: key }));
        this.versions.noteStat(key, { mtime: stat.mtime, size: stat.size });
        return {
            type: stat.type as FileType,
            size: stat.size,
            mtime: stat.mtime,
            ctime: stat.ctime,
            ...(stat.permissions ? { permissions: stat.permissions } : {}),
        };
    }

    async readDirectory(uri: Uri): Promise<[string, FileType][]> {
        const key = await this.uris.resolve(uri);
        const result = await asFileSystemCall(() => this.server.request('hotfix/readDirectory', { uri: key }));
        return result.entries.map(([name, type]) => [name, type as FileType]);
    }

    async readFile(uri: Uri): Promise<Uint8Array> {
        const key = await this.uris.resolve(uri);
        return asFileSystemCall(async () => {
            const transfer = await this.server.bodyTransfer();
            const result = await this.server.request('hotfix/readFile', { uri: key });
            const content = await receiveContent(result, transfer);
            this.versions.noteRead(key, result.version);
            return content;
        });
    }

    async writeFile(
        uri: Uri,
        content: Uint8Array,
        options: { readonly create: boolean; readonly overwrite: boolean },
    ): Promise<void> {
        const key = await this.uris.resolve(uri);
        for (;;) {
            const guard = this.versions.takeWriteGuard(key);
            try {
                const transfer = await this.server.bodyTransfer();
                const result = await sendContent(content, transfer, (body) =>
                    this.server.request('hotfix/writeFile', {
                        uri: key,
                        ...body,
                        create: options.create,
                        overwrite: options.overwrite,
                        ...guard,
                    }),
                );
                this.versions.noteWrite(key, result.version);
                this.modifications.fire(uri);
                this.writes.fire({ uri, checkpointed: result.checkpointed, forced: guard.force === true });
                return;
            } catch (error) {
                await this.answerRefusal(uri, key, describeServerError(error));
            }
        }
    }

    /** Returns to write again (the user chose so); throws to fail the save. */
    private async answerRefusal(uri: Uri, key: string, failure: ServerFailure): Promise<void> {
        const refusal = refusalOf(uri, failure);
        if (!refusal) {
            throw toFileSystemError(failure);
        }
        if (refusal.code === 'Conflict') {
            // Someone changed it between VS Code's stat and our write: make VS Code look again.
            this.notifyChanged(uri);
        }
        const answer = await this.refusalHandler(refusal);
        if (answer === 'force') {
            this.versions.forceNextWrite(key);
        } else if (answer === 'overwrite') {
            this.versions.allowOverwriteOnce(key);
        } else {
            // VS Code's "Failed to save" then says the same, in the same plain words.
            throw toFileSystemError({ ...failure, message: refusal.message });
        }
    }

    async createDirectory(uri: Uri): Promise<void> {
        const key = await this.uris.resolve(uri);
        await asFileSystemCall(() => this.server.request('hotfix/createDirectory', { uri: key }));
        this.modifications.fire(uri);
    }

    async delete(uri: Uri, options: { readonly recursive: boolean }): Promise<void> {
        const key = await this.uris.resolve(uri);
        await asFileSystemCall(() => this.server.request('hotfix/delete', { uri: key, recursive: options.recursive }));
        this.versions.forget(key);
        this.modifications.fire(uri);
    }

    async rename(oldUri: Uri, newUri: Uri, options: { readonly overwrite: boolean }): Promise<void> {
        const [oldKey, newKey] = [await this.uris.resolve(oldUri), await this.uris.resolve(newUri)];
        await asFileSystemCall(() =>
            this.server.request('hotfix/rename', { oldUri: oldKey, newUri: newKey, overwrite: options.overwrite }),
        );
        this.versions.forget(oldKey);
        this.versions.forget(newKey);
        this.modifications.fire(oldUri);
        this.modifications.fire(newUri);
    }
}
