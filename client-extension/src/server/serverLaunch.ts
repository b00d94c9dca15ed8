import * as path from 'path';
import type { HotfixSettings } from '../common/settings';

export interface ServerLaunch {
    command: string;
    args: string[];
    env: Record<string, string | undefined>;
}

/**
 * How to start `hotfix lsp`: the configured command line if any, else the
 * `hotfix` console script found on PATH, else `python3 -m hotfix lsp`.
 */
export function resolveServerLaunch(
    settings: Pick<HotfixSettings, 'serverCommand' | 'dockerHost'>,
    env: Record<string, string | undefined>,
    isExecutable: (file: string) => boolean,
): ServerLaunch {
    const serverEnv: Record<string, string | undefined> = { ...env, PYTHONUNBUFFERED: '1' };
    if (settings.dockerHost) {
        serverEnv.DOCKER_HOST = settings.dockerHost;
    }
    if (settings.serverCommand.length > 0) {
        const [command, ...args] = settings.serverCommand;
        return { command, args, env: serverEnv };
    }
    const hotfix = findOnPath('hotfix', env.PATH ?? '', isExecutable);
    if (hotfix) {
        return { command: hotfix, args: ['lsp'], env: serverEnv };
    }
    return { command: 'python3', args: ['-m', 'hotfix', 'lsp'], env: serverEnv };
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
    return [launch.command, ...launch.args].join(' ');
}
