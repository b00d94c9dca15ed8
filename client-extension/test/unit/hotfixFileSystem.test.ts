import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
    type ContainerWrite,
    HotfixFileSystemProvider,
    type RefusalAnswer,
    type SaveRefusal,
} from '../../src/fs/hotfixFileSystem';
import { ReadonlyContainerFileSystem } from '../../src/fs/readonlyFileSystem';
import { containerNames } from '../../src/fs/containerNames';
import { ResponseError } from 'vscode-jsonrpc';
import { FakeServer } from '../fakes/server';
import { FileChangeType, FileSystemError, Uri } from '../fakes/vscode';

const FILE = Uri.parse('hotfix://MyApp/usr/src/app/my%20app.py') as any;
const WIRE = 'hotfix://MyApp/usr/src/app/my%20app.py';
const base64 = (text: string) => Buffer.from(text).toString('base64');

describe('HotfixFileSystemProvider', () => {
    let server: FakeServer;
    let provider: HotfixFileSystemProvider;
    let refusals: SaveRefusal[];
    let answers: RefusalAnswer[];
    let writes: ContainerWrite[];
    let fileEvents: { type: number; uri: { path: string } }[];

    beforeEach(() => {
        containerNames.clear();
        server = new FakeServer()
            .on('hotfix/stat', () => ({ type: 1, size: 5, mtime: 1700000000123, ctime: 1700000000000 }))
            .on('hotfix/readFile', () => ({ data: base64('hello'), version: 'sha-1' }))
            .on('hotfix/writeFile', () => ({ version: 'sha-2', checkpointed: true }));
        provider = new HotfixFileSystemProvider(server);
        refusals = [];
        fileEvents = [];
        answers = [];
        writes = [];
        // The user's answers, in order; none left: keep editing.
        provider.setRefusalHandler(async (refusal) => {
            refusals.push(refusal);
            return answers.shift() ?? 'keep';
        });
        provider.onDidWrite((write) => writes.push(write));
        provider.onDidChangeFile((events) => fileEvents.push(...(events as any)));
    });

    /** VS Code opening the file: stat, then read. */
    async function openInEditor() {
        await provider.stat(FILE);
        return provider.readFile(FILE);
    }

    it('sends URIs with the container name\'s case and percent-encoded paths', async () => {
        await provider.stat(FILE);
        expect(server.callsOf('hotfix/stat')).toEqual([{ uri: WIRE }]);
    });

    it('passes the server\'s real mtime through stat (VS Code\'s dirty-write check needs it)', async () => {
        expect(await provider.stat(FILE)).toMatchObject({ type: 1, size: 5, mtime: 1700000000123 });
    });

    it('decodes base64 content', async () => {
        expect(Buffer.from(await openInEditor()).toString()).toBe('hello');
    });

    it('writes base64 with the version of the last read as baseVersion', async () => {
        await openInEditor();
        await provider.stat(FILE);
        await provider.writeFile(FILE, Buffer.from('hello!'), { create: false, overwrite: true });
        expect(server.callsOf('hotfix/writeFile')).toEqual([
            { uri: WIRE, data: base64('hello!'), create: false, overwrite: true, baseVersion: 'sha-1' },
        ]);
    });

    it('uses the version returned by the previous write for the next one', async () => {
        await openInEditor();
        await provider.writeFile(FILE, Buffer.from('a'), { create: false, overwrite: true });
        await provider.writeFile(FILE, Buffer.from('b'), { create: false, overwrite: true });
        expect(server.callsOf('hotfix/writeFile')[1].baseVersion).toBe('sha-2');
    });

    it('maps server error codes to FileSystemError codes', async () => {
        server.failWith('hotfix/readFile', 'FileNotFound', 'No such file: /usr/src/app/my app.py');
        const error = await provider.readFile(FILE).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FileSystemError);
        expect(error).toMatchObject({ code: 'FileNotFound', message: 'No such file: /usr/src/app/my app.py' });
    });

    it('on Conflict: asks, and when the user keeps editing fails the save in plain words, making VS Code re-stat', async () => {
        await openInEditor();
        server.failWith('hotfix/writeFile', 'Conflict', 'MyApp:/usr/src/app/my app.py changed (sha 0123456789abcdef)');
        const error = await provider
            .writeFile(FILE, Buffer.from('mine'), { create: false, overwrite: true })
            .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'Unknown', message: 'MyApp:/usr/src/app/my app.py changed' });
        expect(fileEvents).toEqual([{ type: FileChangeType.Changed, uri: FILE }]);
        expect(refusals).toEqual([{ uri: FILE, code: 'Conflict', message: 'MyApp:/usr/src/app/my app.py changed' }]);
        expect(writes).toEqual([]);
    });

    it('on Conflict → Overwrite: the same save goes again without baseVersion, and succeeds', async () => {
        await openInEditor();
        let calls = 0;
        server.on('hotfix/writeFile', () => {
            if (calls++ === 0) {
                throw new ResponseError(-32001, 'changed', { code: 'Conflict' });
            }
            return { version: 'sha-3', checkpointed: false };
        });
        answers = ['overwrite'];
        await provider.writeFile(FILE, Buffer.from('mine'), { create: false, overwrite: true });
        const sent = server.callsOf('hotfix/writeFile');
        expect(sent[0]).toMatchObject({ baseVersion: 'sha-1' });
        expect(sent[1]).not.toHaveProperty('baseVersion');
        expect(writes).toEqual([{ uri: FILE, checkpointed: false, forced: false }]);
    });

    it('after "Overwrite" the next write goes without baseVersion', async () => {
        await openInEditor();
        provider.allowOverwriteOnce(FILE);
        await provider.writeFile(FILE, Buffer.from('mine'), { create: false, overwrite: true });
        expect(server.callsOf('hotfix/writeFile')[0]).not.toHaveProperty('baseVersion');
        expect(writes).toEqual([{ uri: FILE, checkpointed: true, forced: false }]);
    });

    it('on ValidationFailed → Save Anyway: the same save goes again forced, and is reported as forced', async () => {
        await openInEditor();
        let calls = 0;
        server.on('hotfix/writeFile', () => {
            if (calls++ === 0) {
                throw new ResponseError(-32001, 'MyApp:/usr/src/app/my app.py not written: SyntaxError: line 3 (force to write anyway)', {
                    code: 'ValidationFailed',
                });
            }
            return { version: 'sha-3', checkpointed: true };
        });
        answers = ['force'];
        await provider.writeFile(FILE, Buffer.from('def ('), { create: false, overwrite: true });
        expect(refusals).toEqual([{ uri: FILE, code: 'ValidationFailed', message: 'SyntaxError: line 3' }]);
        expect(server.callsOf('hotfix/writeFile')[1]).toMatchObject({ force: true, baseVersion: 'sha-1' });
        expect(writes).toEqual([{ uri: FILE, checkpointed: true, forced: true }]);
        expect(fileEvents).toEqual([]);
    });

    it('a protected container is a refusal (Save Anyway forces); other NoPermissions are plain failures', async () => {
        await openInEditor();
        server.on('hotfix/writeFile', () => {
            throw new ResponseError(-32001, 'MyApp is protected (label hotfix.protect=true): refusing to write; --force overrides, and the override is journalled', {
                code: 'NoPermissions',
                reason: 'protected',
            });
        });
        await expect(provider.writeFile(FILE, Buffer.from('x'), { create: false, overwrite: true })).rejects.toMatchObject({
            code: 'NoPermissions',
            message: 'MyApp is protected (label hotfix.protect=true): refusing to write',
        });
        expect(refusals.map((refusal) => refusal.code)).toEqual(['Protected']);

        server.failWith('hotfix/writeFile', 'NoPermissions', 'read-only file system');
        await expect(provider.writeFile(FILE, Buffer.from('x'), { create: false, overwrite: true })).rejects.toMatchObject({
            code: 'NoPermissions',
        });
        expect(refusals).toHaveLength(1);
    });

    it('turns hotfix/didChangeFile into onDidChangeFile', () => {
        server.sendDidChangeFile(WIRE);
        expect(fileEvents).toHaveLength(1);
        expect(fileEvents[0].type).toBe(FileChangeType.Changed);
        expect(fileEvents[0].uri).toMatchObject({ authority: 'MyApp', path: '/usr/src/app/my app.py' });
    });

    it('forwards directory listing, mkdir, delete and rename', async () => {
        server
            .on('hotfix/readDirectory', () => ({ entries: [['app.py', 1], ['lib', 2]] }))
            .on('hotfix/createDirectory', () => ({}))
            .on('hotfix/delete', () => ({}))
            .on('hotfix/rename', () => ({}));
        const dir = Uri.parse('hotfix://MyApp/srv') as any;
        expect(await provider.readDirectory(dir)).toEqual([['app.py', 1], ['lib', 2]]);
        await provider.createDirectory(dir);
        await provider.delete(dir, { recursive: true });
        await provider.rename(FILE, Uri.parse('hotfix://MyApp/tmp/x') as any, { overwrite: false });
        expect(server.calls.slice(-3).map((call) => call.params)).toEqual([
            { uri: 'hotfix://MyApp/srv' },
            { uri: 'hotfix://MyApp/srv', recursive: true },
            { oldUri: WIRE, newUri: 'hotfix://MyApp/tmp/x', overwrite: false },
        ]);
    });

    it('restores a container name VS Code lower-cased, asking the server for its names once', async () => {
        server.on('hotfix/containers', () => ({
            containers: [{ id: 'f00', name: 'SmokeWeb', image: 'i', state: 'running', health: null, service: null, ports: [] }],
        }));
        const lowered = Uri.parse('hotfix://smokeweb/srv/conf.json') as any;
        await provider.stat(lowered);
        await provider.stat(lowered);
        expect(server.callsOf('hotfix/stat')).toEqual([
            { uri: 'hotfix://SmokeWeb/srv/conf.json' },
            { uri: 'hotfix://SmokeWeb/srv/conf.json' },
        ]);
        expect(server.callsOf('hotfix/containers')).toHaveLength(1);
    });

    it('reports an unreachable server as Unavailable', async () => {
        server.on('hotfix/stat', () => {
            throw new Error('The Hotfix server is not running');
        });
        await expect(provider.stat(FILE)).rejects.toMatchObject({ code: 'Unavailable' });
    });

    describe('with the body transfer the server agreed to', () => {
        let spool: string;

        beforeEach(() => {
            spool = mkdtempSync(path.join(tmpdir(), 'hotfix-spool-test-'));
            server.transfer = { kind: 'file', directory: spool, threshold: 64 };
            return () => rmSync(spool, { recursive: true, force: true });
        });

        it('reads a big content from the spool file the server names, and removes it', async () => {
            const big = Buffer.alloc(4096, 'x');
            server.on('hotfix/readFile', () => {
                const dataPath = path.join(spool, 'r-1');
                writeFileSync(dataPath, big, { mode: 0o600 });
                return { dataPath, version: 'sha-big' };
            });
            expect(Buffer.from(await openInEditor()).equals(big)).toBe(true);
            expect(readdirSync(spool)).toEqual([]);
            await provider.writeFile(FILE, Buffer.from('small'), { create: false, overwrite: true });
            expect(server.callsOf('hotfix/writeFile')[0]).toEqual({
                uri: WIRE,
                data: base64('small'),
                create: false,
                overwrite: true,
                baseVersion: 'sha-big',
            });
        });

        it('writes a big content as a spool file, which is gone after the request', async () => {
            await openInEditor();
            const big = Buffer.alloc(100_000, 'y');
            let sent: Buffer | undefined;
            server.on('hotfix/writeFile', (params) => {
                sent = readFileSync(params.dataPath);
                return { version: 'sha-2', checkpointed: true };
            });
            await provider.writeFile(FILE, big, { create: false, overwrite: true });
            const [params] = server.callsOf('hotfix/writeFile');
            expect(params).toMatchObject({ uri: WIRE, create: false, overwrite: true, baseVersion: 'sha-1' });
            expect(params).not.toHaveProperty('data');
            expect(path.dirname(params.dataPath)).toBe(spool);
            expect(sent?.equals(big)).toBe(true);
            expect(readdirSync(spool)).toEqual([]);
        });

        it('removes its spool file when the save is refused', async () => {
            await openInEditor();
            server.failWith('hotfix/writeFile', 'Conflict', 'changed by someone else');
            await expect(
                provider.writeFile(FILE, Buffer.alloc(1000), { create: false, overwrite: true }),
            ).rejects.toThrow('changed by someone else');
            expect(refusals.map((refusal) => refusal.code)).toEqual(['Conflict']);
            expect(readdirSync(spool)).toEqual([]);
        });

        it('refuses a content file outside the spool directory as Unavailable', async () => {
            server.on('hotfix/readFile', () => ({ dataPath: '/etc/passwd', version: 'sha-x' }));
            await expect(provider.readFile(FILE)).rejects.toMatchObject({ code: 'Unavailable' });
        });

        it('reads checkpoints through the spool too', async () => {
            const original = Buffer.alloc(1000, 'o');
            server.on('hotfix/readFile', () => {
                const dataPath = path.join(spool, 'r-cp');
                writeFileSync(dataPath, original, { mode: 0o600 });
                return { dataPath, version: 'sha-cp' };
            });
            const checkpoints = new ReadonlyContainerFileSystem(server, (uri) => uri);
            const content = await checkpoints.readFile(Uri.parse('hotfix-checkpoint://MyApp/srv/a.py') as any);
            expect(Buffer.from(content).equals(original)).toBe(true);
            expect(readdirSync(spool)).toEqual([]);
        });
    });
});
