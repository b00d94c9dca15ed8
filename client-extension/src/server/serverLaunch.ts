import * as path from 'path';
import type { HotfixSettings } from '../common/settings';

export interface ServerLaunch {
    command: string;
    args: string[];
    env: Record<string, string | undefined>;
}

/** Why no server can be started; shown to the user as is. */
export interface LaunchProblem {
    problem: string;
}

/** The oldest Python the bundled server runs on (pyproject.toml's requires-python). */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** What the launch decision needs to know about this machine. */
export interface LaunchHost {
    env: Record<string, string | undefined>;
    /** `bundled/libs` inside the installed extension, when the .vsix carries the server. */
    bundledLibs?: string;
    /** The first interpreter ≥ {@link MIN_PYTHON} found (see pythonFinder.ts). */
    python?: string;
    isExecutable: (file: string) => boolean;
}

/**
 * How to start `hotfix lsp`, in this order: the configured command line; the
 * server the .vsix carries (`bundled/libs`), run by the Python found; with no
 * bundle (a development build), the `hotfix` console script on PATH, then
 * `python3 -m hotfix lsp`.
 */
export function resolveServerLaunch(
    settings: Pick<HotfixSettings, 'serverCommand' | 'dockerHost'>,
    host: LaunchHost,
): ServerLaunch | LaunchProblem {
    const serverEnv: Record<string, string | undefined> = { ...host.env, PYTHONUNBUFFERED: '1' };
    if (settings.dockerHost) {
        serverEnv.DOCKER_HOST = settings.dockerHost;
    }
    if (settings.serverCommand.length > 0) {
        const [command, ...args] = settings.serverCommand;
        return { command, args, env: serverEnv };
    }
    if (host.bundledLibs) {
        if (!host.python) {
            return {
                problem: `no Python ${MIN_PYTHON.join('.')} or newer was found to run the Hotfix server`,
            };
        }
        // The bundle first: a different hotfix installed for that Python must not win.
        serverEnv.PYTHONPATH = [host.bundledLibs, host.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
        return { command: host.python, args: ['-m', 'hotfix', 'lsp'], env: serverEnv };
    }
    const hotfix = findOnPath('hotfix', host.env.PATH ?? '', host.isExecutable);
    if (hotfix) {
        return { command: hotfix, args: ['lsp'], env: serverEnv };
    }
    return { command: host.python ?? 'python3', args: ['-m', 'hotfix', 'lsp'], env: serverEnv };
}

export function isLaunchProblem(value: ServerLaunch | LaunchProblem): value is LaunchProblem {
    return 'problem' in value;
}

export function findOnPath(
    name: string,
    pathVariable: string,
    isExecutable: (file: string) => boolean,
): string | undefined {
    for (const directory of pathVariable.split(path.delimiter)) {
        if (!directory) {
            continue;
        }
        const candidate = path.join(directory, name);
        if (isExecutable(candidate)) {
            return candidate;
        }
    }
    return undefined;
}

export function describeLaunch(launch: ServerLaunch): string {
    const pythonPath = launch.env.PYTHONPATH ? `PYTHONPATH=${launch.env.PYTHONPATH} ` : '';
    return pythonPath + [launch.command, ...launch.args].join(' ');
}
