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
import { describeServerError } from './errors';
import { receiveContent, sendContent } from './contentTransfer';
import { asFileSystemCall, toFileSystemError } from './fileSystemErrors';
import { serverUri } from './containerNames';
import { ServerUriResolver } from './serverUriResolver';
import { VersionTracker } from './versionTracker';

/** A save the server refused for a reason the user can override. */
export interface SaveRefusal {
    uri: Uri;
    code: 'Conflict' | 'ValidationFailed';
    message: string;
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

    private readonly refusals = new EventEmitter<SaveRefusal>();
    /** Conflict / ValidationFailed on save, for the UI to offer a way out. */
    readonly onDidRefuseSave = this.refusals.event;

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
            this.refusals,
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
        } catch (error) {
            const failure = describeServerError(error);
            if (failure.code === 'Conflict') {
                // Someone changed it between VS Code's stat and our write: make VS Code look again.
                this.notifyChanged(uri);
            }
            if (failure.code === 'Conflict' || failure.code === 'ValidationFailed') {
                this.refusals.fire({ uri, code: failure.code, message: failure.message });
            }
            throw toFileSystemError(failure);
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
