import { getConfiguration } from './vscodeapi';

export interface HotfixSettings {
    /** Command line of the server; empty means "find it" (see serverLaunch.ts). */
    serverCommand: string[];
    /** Python ≥ 3.11 to run the bundled server with; empty means "find one" (see pythonFinder.ts). */
    serverPython: string;
    /** Passed to the server as DOCKER_HOST; empty keeps the environment's. */
    dockerHost: string;
    /** Default probe for Restart and Probe; empty lets the server decide. */
    defaultProbe: string;
    /** Seconds between the server's checks of open documents. */
    pollInterval: number;
}

/** Changing one of these needs a new server process. */
export const SERVER_SETTINGS = ['hotfix.server.command', 'hotfix.server.python', 'hotfix.dockerHost', 'hotfix.pollInterval'];

export function readSettings(): HotfixSettings {
    const config = getConfiguration('hotfix');
    return {
        serverCommand: splitCommandLine(config.get<string | string[]>('server.command')),
        serverPython: (config.get<string>('server.python') ?? '').trim(),
        dockerHost: (config.get<string>('dockerHost') ?? '').trim(),
        defaultProbe: (config.get<string>('probe.default') ?? '').trim(),
        pollInterval: config.get<number>('pollInterval') ?? 2,
    };
}

/** Accepts `["hotfix", "lsp"]` or `"hotfix lsp"` (split on whitespace, no shell quoting). */
export function splitCommandLine(value: string | string[] | undefined): string[] {
    if (Array.isArray(value)) {
        return value.filter((part) => part.length > 0);
    }
    return (value ?? '').split(/\s+/).filter((part) => part.length > 0);
}
