/**
 * Container URIs: `hotfix://CONTAINER/abs/path[?engine=NAME]` and the
 * read-only `hotfix-checkpoint://…` twin.
 *
 * We format URIs ourselves instead of using `Uri.toString()`: VS Code lower-cases
 * the authority when formatting, and Docker container names are case-sensitive.
 * Plain string functions, so they are unit-testable without VS Code.
 */

export const HOTFIX_SCHEME = 'hotfix';
export const CHECKPOINT_SCHEME = 'hotfix-checkpoint';
/** Client-only, read-only view of a file's current content in the container (for "Compare"). */
export const LIVE_SCHEME = 'hotfix-live';

/** The parts of a URI we use; `vscode.Uri` satisfies it (with decoded path and query). */
export interface UriParts {
    readonly scheme: string;
    readonly authority: string;
    readonly path: string;
    readonly query: string;
}

/** Where a file lives: container name or ID, absolute path, optional engine name. */
export interface ContainerLocation {
    container: string;
    path: string;
    engine?: string;
}

/** RFC 3986 formatting: each path segment and query component percent-encoded as UTF-8. */
export function formatUri(uri: UriParts): string {
    const path = uri.path
        .split('/')
        .map((segment) => encodeURIComponent(segment))
        .join('/');
    const query = uri.query ? `?${encodeQuery(uri.query)}` : '';
    return `${uri.scheme}://${encodeURIComponent(uri.authority)}${path}${query}`;
}

function encodeQuery(query: string): string {
    return query
        .split('&')
        .map((pair) => {
            const eq = pair.indexOf('=');
            return eq < 0
                ? encodeURIComponent(pair)
                : `${encodeURIComponent(pair.slice(0, eq))}=${encodeURIComponent(pair.slice(eq + 1))}`;
        })
        .join('&');
}

export function toUriParts(location: ContainerLocation, scheme: string = HOTFIX_SCHEME): UriParts {
    return {
        scheme,
        authority: location.container,
        path: normalizePath(location.path),
        query: location.engine ? `engine=${location.engine}` : '',
    };
}

export function buildUri(location: ContainerLocation, scheme: string = HOTFIX_SCHEME): string {
    return formatUri(toUriParts(location, scheme));
}

export function locationOf(uri: UriParts): ContainerLocation {
    const engine = engineOf(uri.query);
    return {
        container: uri.authority,
        path: normalizePath(uri.path),
        ...(engine ? { engine } : {}),
    };
}

function engineOf(query: string): string | undefined {
    for (const pair of query.split('&')) {
        if (pair.startsWith('engine=')) {
            return pair.slice('engine='.length) || undefined;
        }
    }
    return undefined;
}

export function withScheme(uri: UriParts, scheme: string): UriParts {
    return { scheme, authority: uri.authority, path: uri.path, query: uri.query };
}

/** Absolute, no trailing slash except for the root. */
export function normalizePath(path: string): string {
    const absolute = path.startsWith('/') ? path : `/${path}`;
    return absolute.length > 1 && absolute.endsWith('/') ? absolute.replace(/\/+$/, '') || '/' : absolute;
}

export function joinPath(directory: string, name: string): string {
    const dir = normalizePath(directory);
    return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentPath(path: string): string {
    const normalized = normalizePath(path);
    const slash = normalized.lastIndexOf('/');
    return slash <= 0 ? '/' : normalized.slice(0, slash);
}

export function baseName(path: string): string {
    const normalized = normalizePath(path);
    return normalized === '/' ? '/' : normalized.slice(normalized.lastIndexOf('/') + 1);
}
