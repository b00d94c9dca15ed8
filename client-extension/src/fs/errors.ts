import { SERVER_ERROR_CODES, type ServerErrorCode } from '../server/protocol';

/** A server error reduced to what the client acts on. */
export interface ServerFailure {
    /** `data.code` of the JSON-RPC error, when the server sent one we know. */
    code?: ServerErrorCode;
    message: string;
    /** `data.reason`: refines the code (`protected` on NoPermissions). */
    reason?: string;
}

/** The `vscode.FileSystemError` factory that carries a code VS Code acts on. */
export type FileSystemErrorKind =
    | 'FileNotFound'
    | 'FileExists'
    | 'FileIsADirectory'
    | 'FileNotADirectory'
    | 'NoPermissions'
    | 'Unavailable';

/**
 * Reads a rejected request: a JSON-RPC `ResponseError` with `data.code`, or
 * anything else (connection closed, client not running), which has no code.
 */
export function describeServerError(error: unknown): ServerFailure {
    const message = error instanceof Error ? error.message : String(error);
    const data = (error as { data?: unknown } | undefined)?.data;
    const { code, reason } = (data ?? {}) as { code?: unknown; reason?: unknown };
    if (typeof code === 'string' && (SERVER_ERROR_CODES as readonly string[]).includes(code)) {
        return { code: code as ServerErrorCode, message, ...(typeof reason === 'string' ? { reason } : {}) };
    }
    return { message };
}

/**
 * Which FileSystemError to throw for a failure. `Conflict` and `ValidationFailed`
 * have no VS Code counterpart: they become plain errors, and the provider
 * reports them separately so the UI can offer Compare / Overwrite / Save anyway.
 * A failure without a code means the server could not be reached: Unavailable.
 */
export function fileSystemErrorKindFor(failure: ServerFailure): FileSystemErrorKind | undefined {
    switch (failure.code) {
        case 'FileNotFound':
        case 'FileExists':
        case 'FileIsADirectory':
        case 'FileNotADirectory':
        case 'NoPermissions':
        case 'Unavailable':
            return failure.code;
        case 'Conflict':
        case 'ValidationFailed':
            return undefined;
        case undefined:
            return 'Unavailable';
    }
}
