import { describe, expect, it } from 'vitest';
import {
    commitImageArgs,
    describeCommitImage,
    describeHarvest,
    describeHealth,
    fileOrContainerArgs,
    harvestArgs,
    probeArgs,
    restartArgs,
    revertedUris,
    suggestImageTag,
} from '../../src/commands/params';
import { targetOf } from '../../src/commands/targets';
import { Uri } from '../fakes/vscode';

describe('targetOf: what a command was invoked on', () => {
    it('a container node of the Containers view', () => {
        expect(targetOf({ kind: 'container', container: { name: 'web', id: 'abc' } })).toEqual({ container: 'web' });
    });

    it('a file node, an Explorer or editor URI', () => {
        expect(targetOf({ kind: 'entry', uri: Uri.parse('hotfix://web/usr/src/app/app.py') })).toEqual({
            container: 'web',
            path: '/usr/src/app/app.py',
        });
        expect(targetOf(Uri.parse('hotfix://Web/a%20b.py?engine=east'))).toEqual({
            container: 'Web',
            path: '/a b.py',
            engine: 'east',
        });
    });

    it('a checkpoint URI names the same file', () => {
        expect(targetOf(Uri.parse('hotfix-checkpoint://web/etc/nginx.conf'))).toEqual({
            container: 'web',
            path: '/etc/nginx.conf',
        });
    });

    it('a container root is the container', () => {
        expect(targetOf(Uri.parse('hotfix://web/'))).toEqual({ container: 'web' });
    });

    it('nothing usable', () => {
        expect(targetOf(undefined)).toBeUndefined();
        expect(targetOf(Uri.file('/home/me/app.py'))).toBeUndefined();
        expect(targetOf({ kind: 'notice', message: 'x' })).toBeUndefined();
    });
});

describe('server command arguments', () => {
    it('restart and probe pass the default probe only when one is set', () => {
        expect(restartArgs({ container: 'web', path: '/x' }, '')).toEqual({ container: 'web' });
        expect(restartArgs({ container: 'web' }, 'http://127.0.0.1:8001/health')).toEqual({
            container: 'web',
            probe: 'http://127.0.0.1:8001/health',
        });
        expect(probeArgs({ container: 'web' }, 'http://127.0.0.1:8001/')).toEqual({
            container: 'web',
            probe: 'http://127.0.0.1:8001/',
        });
    });

    it('revert and diff name one file or the whole container', () => {
        expect(fileOrContainerArgs({ container: 'web', path: '/app.py' })).toEqual({ container: 'web', path: '/app.py' });
        expect(fileOrContainerArgs({ container: 'web' })).toEqual({ container: 'web' });
    });

    it('harvest leaves an empty branch to the server', () => {
        expect(harvestArgs('web', '/src/shop', '  ')).toEqual({ container: 'web', repo: '/src/shop' });
        expect(harvestArgs('web', '/src/shop', ' hotfix/timeout ', 'Fix timeout')).toEqual({
            container: 'web',
            repo: '/src/shop',
            branch: 'hotfix/timeout',
            message: 'Fix timeout',
        });
    });

    it('commit image leaves an empty tag to the server', () => {
        expect(commitImageArgs('web', '')).toEqual({ container: 'web' });
        expect(commitImageArgs('web', 'shop:fix')).toEqual({ container: 'web', tag: 'shop:fix' });
    });
});

describe('suggestImageTag', () => {
    const now = new Date(Date.UTC(2026, 10, 26, 9, 5, 7));
    it('keeps the repository, replaces the tag', () => {
        expect(suggestImageTag('my_prod_service:v1.0.0', now)).toBe('my_prod_service:hotfix-20261126-090507');
        expect(suggestImageTag('my_prod_service', now)).toBe('my_prod_service:hotfix-20261126-090507');
    });
    it('copes with registry ports and digests', () => {
        expect(suggestImageTag('localhost:5000/team/app:2.1', now)).toBe('localhost:5000/team/app:hotfix-20261126-090507');
        expect(suggestImageTag('localhost:5000/app@sha256:abc', now)).toBe('localhost:5000/app:hotfix-20261126-090507');
    });
});

describe('result messages', () => {
    it('says how long to healthy and what the probe answered', () => {
        expect(describeHealth('web', { healthy: true, seconds: 1.43, probe: { ok: true, detail: 'HTTP 200' } })).toBe(
            'web is healthy after 1.4 s — HTTP 200.',
        );
        expect(
            describeHealth('web', {
                healthy: false,
                seconds: 30,
                probe: { ok: false, detail: 'connection refused' },
                reverted: ['/usr/src/app/app.py'],
            }),
        ).toBe('web is NOT healthy after 30.0 s — connection refused. Reverted 1 file.');
    });

    it('turns reverted paths into URIs and keeps URIs', () => {
        expect(revertedUris({ container: 'web' }, ['/a b.py', 'hotfix://web/c.py'])).toEqual([
            'hotfix://web/a%20b.py',
            'hotfix://web/c.py',
        ]);
    });
});

describe('harvest and commit image messages', () => {
    it('counts files and shortens IDs', () => {
        expect(
            describeHarvest({
                branch: 'hotfix/timeout',
                commit: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d',
                files: [{ path: '/app.py' }],
                base: '0f9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6',
            }),
        ).toBe('Committed 1 file to branch hotfix/timeout (1a2b3c4d5e6f, based on 0f9e8d7c6b5a).');
        expect(describeHarvest({ branch: 'b', commit: 'abc', files: ['a', 'b'], base: null })).toBe(
            'Committed 2 files to branch b (abc).',
        );
    });

    it('takes the image ID from imageId or image', () => {
        expect(describeCommitImage('web', { tag: 'shop:fix', imageId: 'sha256:' + 'ab'.repeat(32) })).toBe(
            'Committed web as shop:fix (sha256:abababababab).',
        );
        expect(describeCommitImage('web', { tag: 'shop:fix', image: 'shop:fix' })).toBe('Committed web as shop:fix (shop:fix).');
        expect(describeCommitImage('web', { tag: 'shop:fix' })).toBe('Committed web as shop:fix.');
    });
});
