import type { Uri } from 'vscode';
import type { ServerFailure } from './errors';

/** A save the server refused for a reason the user can override. */
export interface SaveRefusal {
    uri: Uri;
    /** Protected: the container's hotfix.protect label (NoPermissions, reason "protected"). */
    code: 'Conflict' | 'ValidationFailed' | 'Protected';
    /** The server's reason in plain words: no CLI flags, no hashes. */
    message: string;
}

/** The refusal in a failed write, or undefined when it is a plain failure. */
export function refusalOf(uri: Uri, failure: ServerFailure): SaveRefusal | undefined {
    const message = plainReason(failure.message);
    if (failure.code === 'Conflict' || failure.code === 'ValidationFailed') {
        return { uri, code: failure.code, message };
    }
    if (failure.code === 'NoPermissions' && failure.reason === 'protected') {
        return { uri, code: 'Protected', message };
    }
    return undefined;
}

/**
 * The server's one-line message without what only makes sense on the command
 * line: "NAME:/path not written: " (the editor shows which file), "(force to
 * write anyway)", "; --force overrides…", and content hashes.
 */
export function plainReason(message: string): string {
    return message
        .replace(/^.*? not written: /, '')
        .replace(/\s*\(force to write anyway\)/g, '')
        .replace(/\s*\(now [^,)]*, you had [^)]*\)/g, '')
        .replace(/;?\s*--force overrides[^.;]*/g, '')
        .replace(/\s*\((?:sha(?:256)?[: ]\s*)?[0-9a-f]{7,}\)/g, '')
        .replace(/\s*(?:sha(?:256)?[: ]\s*)?\b[0-9a-f]{12,}\b/g, '')
        .trim();
}
