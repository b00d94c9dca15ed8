/**
 * Builders for the server commands' arguments and for what the UI says about
 * their results. Pure functions: the decisions themselves are the server's.
 */
import { buildUri } from '../fs/uris';
import type {
    CommitImageArgs,
    HarvestArgs,
    HealthResult,
    RestartArgs,
    RevertArgs,
    RevertedFile,
    RevertResult,
    RevertTarget,
} from '../server/protocol';
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

/** `hotfix.revert` with `restart`: every changed file of the container, then going live. */
export function revertAndRestartArgs(target: Target, to: RevertTarget, defaultProbe: string): RevertArgs {
    return { container: target.container, to, restart: true, ...(defaultProbe ? { probe: defaultProbe } : {}) };
}

/**
 * "web: reverted 1 file to last good (went live 02:41:07); now running, healthy — HTTP 200."
 * A failed step is named; the end is always the container's real state.
 */
export function describeRevertAndRestart(container: string, result: RevertResult): string {
    const files: RevertedFile[] =
        result.files ?? result.reverted.map((path) => ({ path, to: result.to ?? 'checkpoint', fallback: false, retried: false }));
    const done = files.filter((f) => !f.error);
    const targets = [...new Set(done.map(describeTo))];
    const what =
        done.length === 0
            ? 'nothing to revert'
            : `reverted ${done.length} file${done.length === 1 ? '' : 's'} to ${targets.join(' / ')}`;
    const failed = files.filter((f) => f.error).map((f) => ` Could not revert ${f.path}: ${f.error}.`).join('');
    const final = result.final;
    const state = final ? `; now ${final.state}, ${final.healthy ? 'healthy' : 'NOT healthy'} — ${final.detail}` : '';
    return `${container}: ${what}${state}.${failed}`;
}

function describeTo(file: Pick<RevertedFile, 'to' | 'wentLiveAt' | 'fallback'>): string {
    if (file.to === 'last-good') {
        const when = file.wentLiveAt ? new Date(file.wentLiveAt * 1000).toTimeString().slice(0, 8) : '';
        return when ? `last good (went live ${when})` : 'last good';
    }
    return file.fallback ? 'checkpoint (no last good)' : 'checkpoint';
}

/** Reverted entries may be paths or URIs; both become `hotfix://` URIs. */
export function revertedUris(target: Target, reverted: readonly string[]): string[] {
    return reverted.map((entry) =>
        entry.includes('://') ? entry : buildUri({ container: target.container, engine: target.engine, path: entry }),
    );
}

/** "Committed 2 files to branch hotfix/x (1a2b3c4d5e6f, based on 0f9e8d7c6b5a)." */
export function describeHarvest(result: { branch: string; commit: string; files: unknown[]; base?: string | null }): string {
    const count = `${result.files.length} file${result.files.length === 1 ? '' : 's'}`;
    const base = result.base ? `, based on ${shortId(result.base)}` : '';
    return `Committed ${count} to branch ${result.branch} (${shortId(result.commit)}${base}).`;
}

/** "Committed web as shop:hotfix-1 (sha256:0123456789ab)." */
export function describeCommitImage(
    container: string,
    result: { tag?: string; image?: string; imageId?: unknown },
): string {
    const id = typeof result.imageId === 'string' ? result.imageId : result.image;
    return `Committed ${container} as ${result.tag ?? 'an image'}${id ? ` (${shortId(id)})` : ''}.`;
}

function shortId(id: string): string {
    const [algorithm, hex] = id.includes(':') ? id.split(':', 2) : ['', id];
    return /^[0-9a-f]{13,}$/.test(hex) ? `${algorithm ? `${algorithm}:` : ''}${hex.slice(0, 12)}` : id;
}
