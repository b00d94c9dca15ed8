import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/common/settings';
import { findOnPath, resolveServerLaunch } from '../../src/server/serverLaunch';

const nothingExecutable = () => false;

describe('resolveServerLaunch', () => {
    it('uses the configured command line as is', () => {
        const launch = resolveServerLaunch(
            { serverCommand: ['/opt/hotfix/bin/hotfix', 'lsp', '--log-level', 'debug'], dockerHost: '' },
            { PATH: '/usr/bin' },
            nothingExecutable,
        );
        expect([launch.command, ...launch.args]).toEqual(['/opt/hotfix/bin/hotfix', 'lsp', '--log-level', 'debug']);
    });

    it('finds `hotfix` on PATH', () => {
        const launch = resolveServerLaunch(
            { serverCommand: [], dockerHost: '' },
            { PATH: '/nope:/venv/bin:/usr/bin' },
            (file) => file === '/venv/bin/hotfix',
        );
        expect([launch.command, ...launch.args]).toEqual(['/venv/bin/hotfix', 'lsp']);
    });

    it('falls back to python3 -m hotfix lsp', () => {
        const launch = resolveServerLaunch({ serverCommand: [], dockerHost: '' }, { PATH: '/usr/bin' }, nothingExecutable);
        expect([launch.command, ...launch.args]).toEqual(['python3', '-m', 'hotfix', 'lsp']);
    });

    it('passes hotfix.dockerHost as DOCKER_HOST, else keeps the environment\'s', () => {
        const env = { PATH: '/usr/bin', DOCKER_HOST: 'unix:///old.sock' };
        expect(resolveServerLaunch({ serverCommand: [], dockerHost: 'ssh://ops@db1' }, env, nothingExecutable).env).toMatchObject({
            DOCKER_HOST: 'ssh://ops@db1',
            PATH: '/usr/bin',
        });
        expect(resolveServerLaunch({ serverCommand: [], dockerHost: '' }, env, nothingExecutable).env.DOCKER_HOST).toBe(
            'unix:///old.sock',
        );
    });

    it('findOnPath skips empty entries', () => {
        expect(findOnPath('hotfix', ':/a', (file) => file === '/a/hotfix')).toBe('/a/hotfix');
        expect(findOnPath('hotfix', '', () => true)).toBeUndefined();
    });
});

describe('splitCommandLine', () => {
    it('accepts a string or an array', () => {
        expect(splitCommandLine('  hotfix   lsp ')).toEqual(['hotfix', 'lsp']);
        expect(splitCommandLine(['python3', '-m', 'hotfix', 'lsp', ''])).toEqual(['python3', '-m', 'hotfix', 'lsp']);
        expect(splitCommandLine(undefined)).toEqual([]);
    });
});
