import { randomUUID } from 'crypto';
import { constants, promises as fs } from 'fs';
import * as path from 'path';
import { BODY_TRANSFER_FILE, type BodyTransfer, type ContentBody } from '../server/protocol';

/**
 * File contents to and from the server. Inline, they are base64 in the
 * message; with the negotiated body transfer (the server runs on this host:
 * the extension spawned it), a content of `threshold` bytes or more is a file
 * in the server's private spool directory instead, which spares base64, JSON
 * and the pipe on both ends (≈11 ms per MB).
 */

// Not defined on Windows; the server offers no spool there anyway.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** The bytes of a `hotfix/readFile` result: decoded, or read from the spool file (then removed). */
export async function receiveContent(body: ContentBody, transfer: BodyTransfer | undefined): Promise<Uint8Array> {
    if (body.dataPath === undefined) {
        return Buffer.from(body.data ?? '', 'base64');
    }
    const file = body.dataPath;
    if (!transfer || path.dirname(file) !== transfer.directory) {
        // Never read (or remove) a path outside the spool we were told about.
        throw new Error(`The Hotfix server sent a content file outside its spool directory: ${file}`);
    }
    try {
        const handle = await fs.open(file, constants.O_RDONLY | NOFOLLOW);
        try {
            return await handle.readFile();
        } finally {
            await handle.close();
        }
    } finally {
        await fs.rm(file, { force: true });
    }
}

/**
 * Sends a content with `send`: as base64 `data`, or, when it is big and the
 * server agreed to the body transfer, as a spool file written here (`O_EXCL`,
 * 0600). The server takes (removes) the file; it is removed here too in case
 * the request failed before that. A file that cannot be written (no space
 * left, a restarted server's directory gone) falls back to base64.
 */
export async function sendContent<T>(
    content: Uint8Array,
    transfer: BodyTransfer | undefined,
    send: (body: ContentBody) => Promise<T>,
): Promise<T> {
    if (!transfer || content.byteLength < transfer.threshold) {
        return send({ data: Buffer.from(content).toString('base64') });
    }
    const file = path.join(transfer.directory, `w-${randomUUID()}`);
    try {
        try {
            const handle = await fs.open(
                file,
                constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW,
                0o600,
            );
            try {
                await handle.writeFile(content);
            } finally {
                await handle.close();
            }
        } catch {
            await fs.rm(file, { force: true });
            return await send({ data: Buffer.from(content).toString('base64') });
        }
        return await send({ dataPath: file });
    } finally {
        await fs.rm(file, { force: true });
    }
}

/** `experimental.hotfix.bodyTransfer` of the initialize result, when it is one we use. */
export function agreedBodyTransfer(experimental: unknown): BodyTransfer | undefined {
    const hotfix = (experimental as { hotfix?: { bodyTransfer?: Partial<BodyTransfer> } } | undefined)?.hotfix;
    const agreed = hotfix?.bodyTransfer;
    if (
        agreed?.kind === BODY_TRANSFER_FILE &&
        typeof agreed.directory === 'string' &&
        agreed.directory.length > 0 &&
        typeof agreed.threshold === 'number' &&
        agreed.threshold >= 0
    ) {
        return { kind: agreed.kind, directory: agreed.directory, threshold: agreed.threshold };
    }
    return undefined;
}
