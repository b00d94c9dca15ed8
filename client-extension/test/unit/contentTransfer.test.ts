import { mkdtempSync, promises as fs, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agreedBodyTransfer, receiveContent, sendContent } from '../../src/fs/contentTransfer';
import type { BodyTransfer, ContentBody } from '../../src/server/protocol';

describe('contentTransfer', () => {
    let root: string;
    let transfer: BodyTransfer;

    beforeEach(async () => {
        root = mkdtempSync(path.join(tmpdir(), 'hotfix-transfer-test-'));
        transfer = { kind: 'file', directory: path.join(root, 'spool'), threshold: 16 };
        await fs.mkdir(transfer.directory, { mode: 0o700 });
        // a sibling whose name starts like the spool's: a prefix is not enough
        await fs.mkdir(`${transfer.directory}-evil`);
        writeFileSync(`${transfer.directory}-evil/r-1`, 'not yours');
        writeFileSync(path.join(root, 'marker'), '');
    });

    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('decodes inline base64', async () => {
        expect(Buffer.from(await receiveContent({ data: 'aGVsbG8=' }, transfer)).toString()).toBe('hello');
        expect(Buffer.from(await receiveContent({ data: 'aGVsbG8=' }, undefined)).toString()).toBe('hello');
    });

    it('reads a spool file and removes it', async () => {
        const file = path.join(transfer.directory, 'r-1');
        const content = Buffer.alloc(100_000, 7);
        writeFileSync(file, content, { mode: 0o600 });
        expect(Buffer.from(await receiveContent({ dataPath: file }, transfer)).equals(content)).toBe(true);
        expect(readdirSync(transfer.directory)).toEqual([]);
    });

    it('never reads or removes a path outside the spool directory', async () => {
        const outside = path.join(root, 'marker');
        for (const dataPath of [outside, `${transfer.directory}-evil/r-1`, path.join(transfer.directory, 'sub', 'r-1')]) {
            await expect(receiveContent({ dataPath }, transfer)).rejects.toThrow('outside its spool directory');
        }
        await expect(receiveContent({ dataPath: path.join(transfer.directory, 'r-1') }, undefined)).rejects.toThrow(
            'outside its spool directory',
        );
        expect(statSync(outside).isFile()).toBe(true);
        expect(statSync(`${transfer.directory}-evil/r-1`).isFile()).toBe(true);
    });

    it('does not follow a symlink in the spool, and removes it', async () => {
        const target = path.join(root, 'marker');
        const link = path.join(transfer.directory, 'r-link');
        symlinkSync(target, link);
        await expect(receiveContent({ dataPath: link }, transfer)).rejects.toThrow();
        expect(readdirSync(transfer.directory)).toEqual([]);
        expect(statSync(target).isFile()).toBe(true);
    });

    it('sends small contents inline, whatever was agreed', async () => {
        const sent: ContentBody[] = [];
        await sendContent(Buffer.from('tiny'), transfer, async (body) => sent.push(body));
        await sendContent(Buffer.alloc(100), undefined, async (body) => sent.push(body));
        expect(sent).toEqual([{ data: 'dGlueQ==' }, { data: Buffer.alloc(100).toString('base64') }]);
    });

    it('sends big contents as a private spool file, removed afterwards', async () => {
        const content = Buffer.alloc(100_000, 3);
        const seen = await sendContent(content, transfer, async (body) => {
            expect(body.data).toBeUndefined();
            const file = body.dataPath as string;
            expect(path.dirname(file)).toBe(transfer.directory);
            expect(statSync(file).mode & 0o777).toBe(0o600);
            expect((await fs.readFile(file)).equals(content)).toBe(true);
            return 'answer';
        });
        expect(seen).toBe('answer');
        expect(readdirSync(transfer.directory)).toEqual([]);
    });

    it('removes its spool file when the request fails', async () => {
        await expect(
            sendContent(Buffer.alloc(transfer.threshold), transfer, async () => {
                throw new Error('Conflict');
            }),
        ).rejects.toThrow('Conflict');
        expect(readdirSync(transfer.directory)).toEqual([]);
    });

    it('falls back to base64 when the spool file cannot be written', async () => {
        const gone: BodyTransfer = { ...transfer, directory: path.join(root, 'no-such-dir') };
        const sent: ContentBody[] = [];
        await sendContent(Buffer.alloc(32, 1), gone, async (body) => sent.push(body));
        expect(sent).toEqual([{ data: Buffer.alloc(32, 1).toString('base64') }]);
    });

    it('reads what the server agreed to from the initialize result', () => {
        const agreed = { kind: 'file', directory: '/run/user/1000/hotfix-spool-1-x', threshold: 65536 };
        expect(agreedBodyTransfer({ hotfix: { bodyTransfer: agreed } })).toEqual(agreed);
        expect(agreedBodyTransfer(undefined)).toBeUndefined();
        expect(agreedBodyTransfer({ hotfix: {} })).toBeUndefined();
        expect(agreedBodyTransfer({ hotfix: { bodyTransfer: { ...agreed, kind: 'shm' } } })).toBeUndefined();
        expect(agreedBodyTransfer({ hotfix: { bodyTransfer: { ...agreed, directory: 7 } } })).toBeUndefined();
    });
});
