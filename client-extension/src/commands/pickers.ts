import type { QuickPickItem } from 'vscode';
import { activeTextEditor, showQuickPick, showQuickPickWithTypedItem } from '../common/vscodeapi';
import { containerNames } from '../fs/containerNames';
import { FILE_TYPE, isDirectoryType, sortEntries } from '../fs/entries';
import { joinPath, parentPath } from '../fs/uris';
import type { HotfixServer } from '../server/hotfixServer';
import type { ContainerInfo } from '../server/protocol';
import { describeState } from '../views/containerGroups';
import { targetOf, type Target } from './targets';

export interface ContainerPickItem extends QuickPickItem {
    container: ContainerInfo;
}

export function containerPickItems(containers: readonly ContainerInfo[]): ContainerPickItem[] {
    return [...containers]
        .sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || a.name.localeCompare(b.name))
        .map((container) => ({
            label: container.name,
            description: container.image,
            detail: [describeState(container), container.service].filter(Boolean).join(' · '),
            container,
        }));
}

export async function pickContainer(server: HotfixServer, placeHolder: string): Promise<ContainerInfo | undefined> {
    const items = server
        .request('hotfix/containers', {})
        .then(({ containers }) => {
            containers.forEach((container) => containerNames.learn(container.name));
            return containerPickItems(containers);
        });
    const picked = await showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
    return picked?.container;
}

export interface PathPickItem extends QuickPickItem {
    path: string;
    isDirectory: boolean;
    /** Made from what the user typed, not listed by the server. */
    typed?: boolean;
}

/** One step of the path picker: `..` (except at `/`), then folders, then files. */
export function directoryPickItems(directory: string, entries: readonly [string, number][]): PathPickItem[] {
    const items: PathPickItem[] = [];
    if (directory !== '/') {
        items.push({ label: '$(arrow-up) ..', description: parentPath(directory), path: parentPath(directory), isDirectory: true });
    }
    for (const [name, type] of sortEntries(entries)) {
        const isDirectory = isDirectoryType(type);
        const isLink = (type & FILE_TYPE.SymbolicLink) !== 0;
        items.push({
            label: `${isDirectory ? '$(folder)' : '$(file)'} ${name}`,
            description: isLink ? 'symbolic link' : undefined,
            path: joinPath(directory, name),
            isDirectory,
        });
    }
    return items;
}

/** The item for an absolute path the user typed, listed first. */
export function typedPathItem(value: string): PathPickItem | undefined {
    const path = value.trim();
    if (!path.startsWith('/')) {
        return undefined;
    }
    return { label: `$(go-to-file) ${path}`, description: 'Go to this path', path, isDirectory: false, typed: true, alwaysShow: true };
}

/**
 * Walks the container's directories until the user picks a file; an absolute
 * path can also be typed directly (a folder continues the walk there).
 */
export async function pickContainerFile(
    server: HotfixServer,
    toServerUri: (path: string) => string,
    startAt = '/',
): Promise<string | undefined> {
    let directory = startAt;
    for (;;) {
        const items = server
            .request('hotfix/readDirectory', { uri: toServerUri(directory) })
            .then(({ entries }) => directoryPickItems(directory, entries));
        const picked = await showQuickPickWithTypedItem(items, {
            placeholder: `${directory} — pick, or type an absolute path`,
            typedItem: typedPathItem,
        });
        if (!picked) {
            return undefined;
        }
        const isDirectory = picked.typed ? await isDirectoryPath(server, toServerUri(picked.path)) : picked.isDirectory;
        if (!isDirectory) {
            return picked.path;
        }
        directory = picked.path;
    }
}

async function isDirectoryPath(server: HotfixServer, uri: string): Promise<boolean> {
    try {
        return isDirectoryType((await server.request('hotfix/stat', { uri })).type);
    } catch {
        return false; // let opening it report what is wrong
    }
}

/** The command's own target, else the active editor's container file. */
export function targetOrActiveEditor(argument: unknown): Target | undefined {
    return targetOf(argument) ?? targetOf(activeTextEditor()?.document.uri);
}

/** Like {@link targetOrActiveEditor}, falling back to asking for a container. */
export async function containerTargetOrPick(
    argument: unknown,
    server: HotfixServer,
    placeHolder: string,
): Promise<Target | undefined> {
    const target = targetOrActiveEditor(argument);
    if (target) {
        return target;
    }
    const container = await pickContainer(server, placeHolder);
    return container ? { container: container.name } : undefined;
}
