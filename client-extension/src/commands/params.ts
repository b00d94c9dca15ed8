/**
 * Builders for the server commands' arguments and for what the UI says about
 * their results. Pure functions: the decisions themselves are the server's.
 */
import { buildUri } from '../fs/uris';
import type { CommitImageArgs, HarvestArgs, HealthResult, RestartArgs } from '../server/protocol';
import type { Target } from './targets';

/** `hotfix.restart`: the configured default probe only if set; otherwise the server's. */
export function restartArgs(target: Target, defaultProbe: string): RestartArgs {
    return { container: target.container, ...(defaultProbe ? { probe: defaultProbe } : {}) };
}

export function probeArgs(target: Target, defaultProbe: string): { container: string; probe?: string } {
    return { container: target.container, ...(defaultProbe ? { probe: defaultProbe } : {}) };
}

/** `hotfix.revert` / `hotfix.diff`: one file when the target has one, else the whole container. */
export function fileOrContainerArgs(target: Target): { container: string; path?: string } {
    return target.path ? { container: target.container, path: target.path } : { container: target.container };
}

export function harvestArgs(container: string, repo: string, branch: string, message?: string): HarvestArgs {
    return {
        container,
        repo,
        ...(branch.trim() ? { branch: branch.trim() } : {}),
        ...(message?.trim() ? { message: message.trim() } : {}),
    };
}

export function commitImageArgs(container: string, tag: string): CommitImageArgs {
    return { container, ...(tag.trim() ? { tag: tag.trim() } : {}) };
}

/**
 * The tag offered in the Commit Image input: the container's image repository
 * with a `hotfix-YYYYMMDD-HHMMSS` (UTC) tag. The user edits it freely; an empty
 * tag lets the server choose.
 */
export function suggestImageTag(image: string, now: Date): string {
    const withoutDigest = image.split('@')[0];
    const lastSlash = withoutDigest.lastIndexOf('/');
    const colon = withoutDigest.lastIndexOf(':');
    const repository = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${repository || 'hotfix'}:hotfix-${stamp}`;
}

/** "web is healthy after 1.4 s — HTTP 200" / "web is NOT healthy after 30.0 s — connection refused" */
export function describeHealth(container: string, result: HealthResult): string {
    const verdict = result.healthy ? 'is healthy' : 'is NOT healthy';
    const detail = result.probe?.detail ? ` — ${result.probe.detail}` : '';
    const reverted =
        result.reverted && result.reverted.length > 0
            ? ` Reverted ${result.reverted.length} file${result.reverted.length === 1 ? '' : 's'}.`
            : '';
    return `${container} ${verdict} after ${result.seconds.toFixed(1)} s${detail}.${reverted}`;
}

/** Reverted entries may be paths or URIs; both become `hotfix://` URIs. */
export function revertedUris(target: Target, reverted: readonly string[]): string[] {
    return reverted.map((entry) =>
        entry.includes('://') ? entry : buildUri({ container: target.container, engine: target.engine, path: entry }),
    );
}
