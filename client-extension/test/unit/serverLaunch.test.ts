import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/common/settings';
import {
    findOnPath,
    isLaunchProblem,
    type LaunchHost,
    resolveServerLaunch,
    type ServerLaunch,
} from '../../src/server/serverLaunch';

const nothingExecutable = () => false;
const noCommand = { serverCommand: [], dockerHost: '' };

function launched(value: ReturnType<typeof resolveServerLaunch>): ServerLaunch {
    if (isLaunchProblem(value)) {
        throw new Error(`expected a launch, got: ${value.problem}`);
    }
    return value;
}

function host(change: Partial<LaunchHost>): LaunchHost {
    return { env: { PATH: '/usr/bin' }, isExecutable: nothingExecutable, ...change };
}

describe('resolveServerLaunch', () => {
    it('uses the configured command line as is, even with a bundle', () => {
        const launch = launched(
            resolveServerLaunch(
                { serverCommand: ['/opt/hotfix/bin/hotfix', 'lsp', '--log-level', 'debug'], dockerHost: '' },
                host({ bundledLibs: '/ext/bundled/libs', python: '/usr/bin/python3' }),
            ),
        );
        expect([launch.command, ...launch.args]).toEqual(['/opt/hotfix/bin/hotfix', 'lsp', '--log-level', 'debug']);
        expect(launch.env.PYTHONPATH).toBeUndefined();
    });

    it('runs the bundled server with the Python found, the bundle first on PYTHONPATH', () => {
        const launch = launched(
            resolveServerLaunch(
                noCommand,
                host({
                    env: { PATH: '/venv/bin:/usr/bin', PYTHONPATH: '/theirs' },
                    bundledLibs: '/ext/bundled/libs',
                    python: '/usr/bin/python3.12',
                    // A hotfix on PATH does not win over the bundle the .vsix carries.
                    isExecutable: (file) => file === '/venv/bin/hotfix',
                }),
            ),
        );
        expect([launch.command, ...launch.args]).toEqual(['/usr/bin/python3.12', '-m', 'hotfix', 'lsp']);
        expect(launch.env.PYTHONPATH).toBe('/ext/bundled/libs:/theirs');
        expect(launch.env.PYTHONUNBUFFERED).toBe('1');
    });

    it('says so when the bundle has no Python to run it', () => {
        const result = resolveServerLaunch(noCommand, host({ bundledLibs: '/ext/bundled/libs' }));
        expect(isLaunchProblem(result) && result.problem).toBe('no Python 3.11 or newer was found to run the Hotfix server');
    });

    it('without a bundle, finds `hotfix` on PATH', () => {
        const launch = launched(
            resolveServerLaunch(
                noCommand,
                host({ env: { PATH: '/nope:/venv/bin:/usr/bin' }, isExecutable: (file) => file === '/venv/bin/hotfix' }),
            ),
        );
        expect([launch.command, ...launch.args]).toEqual(['/venv/bin/hotfix', 'lsp']);
    });

    it('without a bundle or `hotfix`, falls back to the Python found, else python3', () => {
        expect(launched(resolveServerLaunch(noCommand, host({}))).command).toBe('python3');
        const launch = launched(resolveServerLaunch(noCommand, host({ python: '/opt/py/bin/python3.13' })));
        expect([launch.command, ...launch.args]).toEqual(['/opt/py/bin/python3.13', '-m', 'hotfix', 'lsp']);
    });

    it("passes hotfix.dockerHost as DOCKER_HOST, else keeps the environment's", () => {
        const env = { PATH: '/usr/bin', DOCKER_HOST: 'unix:///old.sock' };
        expect(launched(resolveServerLaunch({ serverCommand: [], dockerHost: 'ssh://ops@db1' }, host({ env }))).env).toMatchObject({
            DOCKER_HOST: 'ssh://ops@db1',
            PATH: '/usr/bin',
        });
        expect(launched(resolveServerLaunch(noCommand, host({ env }))).env.DOCKER_HOST).toBe('unix:///old.sock');
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
