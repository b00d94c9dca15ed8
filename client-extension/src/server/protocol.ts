/**
 * The wire contract with `hotfix lsp`: custom requests, the notification,
 * `workspace/executeCommand` commands and error codes. Types only, plus names.
 * The server implements exactly this; keep it in sync with the server's docs.
 */

/** Opaque token identifying a file's content on the server (sent back as `baseVersion`). */
export type ContentVersion = string;

export interface ContainerInfo {
    id: string;
    name: string;
    image: string;
    state: string;
    health: string | null;
    /** Compose `project/service`, a Swarm service name, or null. */
    service: string | null;
    /** Published ports such as `127.0.0.1:8001->8001/tcp`. */
    ports: string[];
}

/** VS Code FileType / FilePermission numbers; times in milliseconds. */
export interface ServerStat {
    type: number;
    size: number;
    mtime: number;
    ctime: number;
    permissions?: number;
}

export type ChangeStatus = 'modified' | 'created' | 'deleted';

export interface ContainerChange {
    uri: string;
    checkpointUri: string;
    status: ChangeStatus;
}

/**
 * A file's content in a message: base64 `data`, or, with the negotiated body
 * transfer, `dataPath`: a file in the server's spool directory (exactly one).
 */
export type ContentBody = { data: string; dataPath?: never } | { dataPath: string; data?: never };

/** `hotfix/readFile`'s result: the content (inline, or a spool file to read and remove) and its version. */
export type ReadFileResult = ContentBody & { version: ContentVersion };

export type WriteFileParams = ContentBody & {
    uri: string;
    baseVersion?: ContentVersion;
    create: boolean;
    overwrite: boolean;
    force?: boolean;
};

/**
 * `initializationOptions.bodyTransfer`: the extension starts the server on this
 * host, so big contents can travel as files beside the JSON-RPC stream.
 */
export const BODY_TRANSFER_FILE = 'file';

/** What the server agreed to (`capabilities.experimental.hotfix.bodyTransfer`). */
export interface BodyTransfer {
    kind: typeof BODY_TRANSFER_FILE;
    /** The server's private spool directory (mode 0700). */
    directory: string;
    /** Contents of this many bytes or more go through the spool. */
    threshold: number;
}

/** Custom requests, by method name. */
export interface Requests {
    'hotfix/containers': { params: Record<string, never>; result: { containers: ContainerInfo[] } };
    'hotfix/stat': { params: { uri: string }; result: ServerStat };
    'hotfix/readDirectory': { params: { uri: string }; result: { entries: [string, number][] } };
    'hotfix/readFile': { params: { uri: string }; result: ReadFileResult };
    'hotfix/writeFile': { params: WriteFileParams; result: { version: ContentVersion; checkpointed: boolean } };
    'hotfix/createDirectory': { params: { uri: string }; result: Record<string, never> };
    'hotfix/delete': { params: { uri: string; recursive: boolean }; result: Record<string, never> };
    'hotfix/rename': { params: { oldUri: string; newUri: string; overwrite: boolean }; result: Record<string, never> };
    'hotfix/changes': { params: { container?: string }; result: { changes: ContainerChange[] } };
}
export type RequestMethod = keyof Requests;

/** Server → client: someone else changed an open document in its container. */
export const DID_CHANGE_FILE = 'hotfix/didChangeFile';
export interface DidChangeFileParams {
    uri: string;
}

/**
 * Server → client: the engine's containers changed (created, removed, started,
 * stopped, health). No params the client relies on: it lists them again.
 */
export const DID_CHANGE_CONTAINERS = 'hotfix/didChangeContainers';
/** Server → client: a hotfix became lost (docs/protocol.md). */
export const LIFECYCLE = 'hotfix/lifecycle';

export interface ProbeAnswer {
    ok: boolean;
    detail: string;
    [key: string]: unknown;
}

/** Result of `hotfix.restart` and `hotfix.probe`; `healthy: false` is an answer, not an error. */
export interface HealthResult {
    healthy: boolean;
    seconds: number;
    probe: ProbeAnswer;
    reverted?: string[];
    /** Unhealthy: when the container's last good version went live (epoch seconds), if any. */
    lastGood?: number;
}

export type RevertTarget = 'checkpoint' | 'last-good';

/** `hotfix.revert`: `to` the checkpoint (default) or the last good; `restart` goes live after. */
export interface RevertArgs {
    container: string;
    path?: string;
    to?: RevertTarget;
    restart?: boolean;
    probe?: string;
    timeout?: number;
}

export interface RevertedFile {
    path: string;
    to: RevertTarget;
    wentLiveAt?: number;
    fallback: boolean;
    error?: string;
    retried: boolean;
}

/** The container at the end of a revert with `restart`: the Engine's state and the probe's verdict. */
export interface FinalState {
    state: string;
    health?: string | null;
    healthy: boolean;
    detail: string;
    exitCode?: number | null;
}

export interface RevertResult {
    reverted: string[];
    to?: RevertTarget;
    files?: RevertedFile[];
    restart?: HealthResult;
    final?: FinalState;
}

export interface RestartArgs {
    container: string;
    probe?: string;
    signal?: string;
    timeout?: number;
    revertOnFailure?: boolean;
}

export interface HarvestArgs {
    container: string;
    repo: string;
    branch?: string;
    message?: string;
    map?: Record<string, string>;
    test?: string;
}

export interface CommitImageArgs {
    container: string;
    tag?: string;
    wholeLayer?: boolean;
    verify?: boolean;
    probe?: string;
}

/** `files` entries are paths or objects describing each file; the client only counts them. */
export interface HarvestResult {
    branch: string;
    commit: string;
    files: unknown[];
    base?: string | null;
    [key: string]: unknown;
}

/** The contract names `image`; the server may send the ID as `imageId`. */
export interface CommitImageResult {
    image?: string;
    imageId?: string;
    tag: string;
    [key: string]: unknown;
}

/** `hotfix.try`: the editor's content (base64) tried in a throwaway twin of its container. */
export interface TryArgs {
    uri: string;
    data: string;
    probe?: string | string[];
    expectBody?: string;
    check?: string;
    timeout?: number;
    force?: boolean;
}

/** The verdict of `hotfix.try`; `healthy: false` is an answer, not an error. */
export interface TryResult {
    container: string;
    twin: string;
    verdict: 'healthy' | 'unhealthy' | 'refused';
    healthy: boolean;
    seconds: number;
    probe: string;
    result: ProbeAnswer;
    reason?: string;
    log: string;
    [key: string]: unknown;
}

/** `workspace/executeCommand` commands: one JSON object argument, one JSON object result. */
export interface Commands {
    'hotfix.checkpoint': { args: { container: string; paths: string[] }; result: Record<string, unknown> };
    'hotfix.diff': { args: { container: string; path?: string }; result: { diff: string } };
    'hotfix.revert': { args: RevertArgs; result: RevertResult };
    'hotfix.restart': { args: RestartArgs; result: HealthResult };
    'hotfix.probe': { args: { container: string; probe?: string; timeout?: number }; result: HealthResult };
    'hotfix.harvest': { args: HarvestArgs; result: HarvestResult };
    'hotfix.commitImage': { args: CommitImageArgs; result: CommitImageResult };
    'hotfix.report': { args: { container?: string }; result: { markdown: string } };
    'hotfix.try': { args: TryArgs; result: TryResult };
    'hotfix.status': { args: { container?: string }; result: { hotfixes: HotfixLine[] } };
    'hotfix.reapply': { args: ReapplyArgs; result: ReapplyResult };
}

/** A hotfix's stage (docs/release.md, "A hotfix's life"). */
export type HotfixStage = 'live' | 'harvested' | 'imaged' | 'rolled-out' | 'in-image' | 'reverted' | 'lost';

/** One line of `hotfix.status` (`hotfix status --json`). */
export interface HotfixLine {
    containers: string[];
    containerIds: string[];
    files: string[];
    since: number;
    ageSeconds: number;
    users: string[];
    stage: HotfixStage;
    nextStep: string;
    present: boolean;
    successors: string[];
    branch: string | null;
    image: string | null;
    notes: string[];
}

export interface ReapplyArgs {
    old: string;
    to?: string;
    restart?: boolean;
    probe?: string;
}

export interface ReapplyResult {
    oldContainer: string;
    container: { name: string; id: string };
    files: string[];
    how: Record<string, string>;
    health?: HealthResult | null;
}
export type ServerCommand = keyof Commands;

/** Values of a JSON-RPC error's `data.code`. */
export const SERVER_ERROR_CODES = [
    'FileNotFound',
    'FileExists',
    'FileIsADirectory',
    'FileNotADirectory',
    'NoPermissions',
    'Conflict',
    'Unavailable',
    'ValidationFailed',
] as const;
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];
