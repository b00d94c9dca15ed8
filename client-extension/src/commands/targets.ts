import { containerNames } from '../fs/containerNames';
import { CHECKPOINT_SCHEME, HOTFIX_SCHEME, LIVE_SCHEME, locationOf, type ContainerLocation, type UriParts } from '../fs/uris';

/** A container, and maybe one file in it, that a command acts on. */
export type Target = Omit<ContainerLocation, 'path'> & { path?: string };

const CONTAINER_SCHEMES = [HOTFIX_SCHEME, CHECKPOINT_SCHEME, LIVE_SCHEME];

/**
 * What a command was invoked on: a Containers view node, a URI (Explorer,
 * editor title, palette with an active editor), or nothing usable.
 * A container's root (`/`) is a container target, not a file.
 */
export function targetOf(argument: unknown): Target | undefined {
    if (!argument || typeof argument !== 'object') {
        return undefined;
    }
    const node = argument as { kind?: unknown; container?: { name?: unknown }; uri?: unknown };
    if (node.kind === 'container' && typeof node.container?.name === 'string') {
        return { container: node.container.name };
    }
    if (node.kind === 'entry') {
        return targetOf(node.uri);
    }
    if (isUriParts(argument) && CONTAINER_SCHEMES.includes(argument.scheme) && argument.authority) {
        const location = { ...locationOf(argument), container: containerNames.restore(argument.authority) };
        if (location.path === '/') {
            const { path: _root, ...container } = location;
            return container;
        }
        return location;
    }
    return undefined;
}

function isUriParts(value: object): value is UriParts {
    const candidate = value as Partial<UriParts>;
    return (
        typeof candidate.scheme === 'string' &&
        typeof candidate.authority === 'string' &&
        typeof candidate.path === 'string'
    );
}
