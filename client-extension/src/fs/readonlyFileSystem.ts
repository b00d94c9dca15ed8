import {
    type Disposable,
    EventEmitter,
    type FileChangeEvent,
    type FileStat,
    FileSystemError,
    type FileSystemProvider,
    type FileType,
    type Uri,
} from 'vscode';
import type { HotfixServer } from '../server/hotfixServer';
import { receiveContent } from './contentTransfer';
import { asFileSystemCall } from './fileSystemErrors';
import { ServerUriResolver } from './serverUriResolver';
import type { UriParts } from './uris';

/**
 * A read-only view forwarded to the server: checkpoints
 * (`hotfix-checkpoint://…`), and the container's current copy of a file
 * (`hotfix-live://…`, the left side of "Compare" after a refused save).
 * `toServerParts` says which server URI a URI of this scheme stands for.
 */
export class ReadonlyContainerFileSystem implements FileSystemProvider, Disposable {
    private readonly fileChanges = new EventEmitter<FileChangeEvent[]>();
    readonly onDidChangeFile = this.fileChanges.event;

    private readonly uris: ServerUriResolver;

    constructor(
        private readonly server: HotfixServer,
        private readonly toServerParts: (uri: Uri) => UriParts,
    ) {
        this.uris = new ServerUriResolver(server);
    }

    private serverUri(uri: Uri): Promise<string> {
        return this.uris.resolve(this.toServerParts(uri));
    }

    dispose(): void {
        this.fileChanges.dispose();
    }

    watch(): Disposable {
        return { dispose: () => undefined };
    }

    async stat(uri: Uri): Promise<FileStat> {
        const target = await this.serverUri(uri);
        const stat = await asFileSystemCall(() => this.server.request('hotfix/stat', { uri: target }));
        return { type: stat.type as FileType, size: stat.size, mtime: stat.mtime, ctime: stat.ctime };
    }

    async readDirectory(uri: Uri): Promise<[string, FileType][]> {
        const target = await this.serverUri(uri);
        const result = await asFileSystemCall(() => this.server.request('hotfix/readDirectory', { uri: target }));
        return result.entries.map(([name, type]) => [name, type as FileType]);
    }

    async readFile(uri: Uri): Promise<Uint8Array> {
        const target = await this.serverUri(uri);
        return asFileSystemCall(async () => {
            const transfer = await this.server.bodyTransfer();
            return receiveContent(await this.server.request('hotfix/readFile', { uri: target }), transfer);
        });
    }

    writeFile(): never {
        throw FileSystemError.NoPermissions('This is a read-only view of a container file.');
    }

    createDirectory(): never {
        throw FileSystemError.NoPermissions('This is a read-only view of a container file.');
    }

    delete(): never {
        throw FileSystemError.NoPermissions('This is a read-only view of a container file.');
    }

    rename(): never {
        throw FileSystemError.NoPermissions('This is a read-only view of a container file.');
    }
}
