/**
 * A minimal stand-in for the `vscode` module, enough for the unit tests.
 * UI functions (window, workspace, commands) are tested through vi.mock of
 * src/common/vscodeapi.ts instead.
 */

export class Uri {
    private constructor(
        readonly scheme: string,
        readonly authority: string,
        readonly path: string,
        readonly query: string,
        readonly fragment: string,
    ) {}

    /** Like VS Code: percent-decodes the components, keeps the authority's case. */
    static parse(value: string, _strict?: boolean): Uri {
        const match = /^([^:/?#]+):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(value);
        if (!match) {
            throw new Error(`Not a URI: ${value}`);
        }
        const decode = (part: string | undefined) => decodeURIComponent(part ?? '');
        return new Uri(match[1], decode(match[2]), decode(match[3]), decode(match[4]), decode(match[5]));
    }

    static from(components: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
        return new Uri(
            components.scheme,
            components.authority ?? '',
            components.path ?? '',
            components.query ?? '',
            components.fragment ?? '',
        );
    }

    static joinPath(base: Uri, ...parts: string[]): Uri {
        return base.with({ path: [base.path.replace(/\/$/, ''), ...parts].join('/') });
    }

    static file(path: string): Uri {
        return new Uri('file', '', path, '', '');
    }

    get fsPath(): string {
        return this.path;
    }

    with(change: { scheme?: string; authority?: string; path?: string; query?: string }): Uri {
        return new Uri(
            change.scheme ?? this.scheme,
            change.authority ?? this.authority,
            change.path ?? this.path,
            change.query ?? this.query,
            this.fragment,
        );
    }

    /** Like VS Code, lower-cases the authority (the reason src/fs/uris.ts formats URIs itself). */
    toString(): string {
        const path = this.path.split('/').map(encodeURIComponent).join('/');
        return `${this.scheme}://${this.authority.toLowerCase()}${path}${this.query ? `?${this.query}` : ''}`;
    }
}

export class Disposable {
    constructor(private readonly callOnDispose: () => unknown) {}
    dispose(): void {
        this.callOnDispose();
    }
}

export type Event<T> = (listener: (event: T) => unknown) => Disposable;

export class EventEmitter<T> {
    private listeners: ((event: T) => unknown)[] = [];
    readonly event: Event<T> = (listener) => {
        this.listeners.push(listener);
        return new Disposable(() => {
            this.listeners = this.listeners.filter((candidate) => candidate !== listener);
        });
    };
    fire(event: T): void {
        [...this.listeners].forEach((listener) => listener(event));
    }
    dispose(): void {
        this.listeners = [];
    }
}

/** Carries `code` like VS Code's: the factory's name, or 'Unknown'. */
export class FileSystemError extends Error {
    readonly code: string;
    constructor(messageOrUri?: string | Uri, code = 'Unknown') {
        super(typeof messageOrUri === 'string' ? messageOrUri : String(messageOrUri ?? ''));
        this.code = code;
    }
    static FileNotFound(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'FileNotFound');
    }
    static FileExists(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'FileExists');
    }
    static FileNotADirectory(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'FileNotADirectory');
    }
    static FileIsADirectory(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'FileIsADirectory');
    }
    static NoPermissions(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'NoPermissions');
    }
    static Unavailable(messageOrUri?: string | Uri) {
        return new FileSystemError(messageOrUri, 'Unavailable');
    }
}

export enum FileType {
    Unknown = 0,
    File = 1,
    Directory = 2,
    SymbolicLink = 64,
}

export enum FileChangeType {
    Changed = 1,
    Created = 2,
    Deleted = 3,
}

export enum TreeItemCollapsibleState {
    None = 0,
    Collapsed = 1,
    Expanded = 2,
}

export enum ProgressLocation {
    SourceControl = 1,
    Window = 10,
    Notification = 15,
}

export enum TextDocumentSaveReason {
    Manual = 1,
    AfterDelay = 2,
    FocusOut = 3,
}

export enum StatusBarAlignment {
    Left = 1,
    Right = 2,
}

export class ThemeColor {
    constructor(readonly id: string) {}
}

export class ThemeIcon {
    constructor(
        readonly id: string,
        readonly color?: ThemeColor,
    ) {}
}

export class TreeItem {
    id?: string;
    description?: string;
    tooltip?: string;
    iconPath?: ThemeIcon;
    contextValue?: string;
    command?: { command: string; title: string; arguments?: unknown[] };
    label?: string;
    resourceUri?: Uri;
    constructor(
        labelOrUri: string | Uri,
        readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
    ) {
        if (typeof labelOrUri === 'string') {
            this.label = labelOrUri;
        } else {
            this.resourceUri = labelOrUri;
        }
    }
}

// The real namespaces are only reached through src/common/vscodeapi.ts, which tests mock.
export const window = {};
export const workspace = { registerTextDocumentContentProvider: () => new Disposable(() => undefined) };
export const commands = {};

export class TabInputTextDiff {
    constructor(
        readonly original: Uri,
        readonly modified: Uri,
    ) {}
}
