import {
    type Disposable,
    type Event,
    EventEmitter,
    FileType,
    ThemeColor,
    ThemeIcon,
    TreeItem,
    TreeItemCollapsibleState,
    type TreeDataProvider,
    Uri,
} from 'vscode';
import { sortEntries } from '../fs/entries';
import { describeServerError } from '../fs/errors';
import { containerNames, serverUri } from '../fs/containerNames';
import { joinPath, toUriParts } from '../fs/uris';
import type { HotfixServer } from '../server/hotfixServer';
import type { ContainerInfo } from '../server/protocol';
import {
    type ContainerExtras,
    type ContainerGroup,
    containerTooltip,
    describeContainer,
    groupContainers,
    stateLook,
} from './containerGroups';
import { describeWithStage } from './lifecycle';

export type ContainersNode =
    | { kind: 'group'; group: ContainerGroup }
    | { kind: 'container'; container: ContainerInfo }
    | { kind: 'entry'; uri: Uri; type: FileType }
    | { kind: 'notice'; message: string };

/** Context values used by the `view/item/context` menus in package.json. */
export const CONTEXT = {
    container: 'hotfix.container',
    file: 'hotfix.file',
    directory: 'hotfix.directory',
} as const;

/** The Containers view: groups → containers → their filesystems. */
export class ContainersTreeProvider implements TreeDataProvider<ContainersNode>, Disposable {
    private readonly treeChanges = new EventEmitter<ContainersNode | undefined>();
    readonly onDidChangeTreeData: Event<ContainersNode | undefined> = this.treeChanges.event;
    private readonly reachability = new EventEmitter<string | undefined>();
    /** Why the list could not be had (engine or server unreachable), or undefined once it could. */
    readonly onDidChangeReachability = this.reachability.event;

    constructor(
        private readonly server: HotfixServer,
        private readonly extras: (container: string) => ContainerExtras = () => ({}),
    ) {}

    dispose(): void {
        this.treeChanges.dispose();
        this.reachability.dispose();
    }

    refresh(): void {
        this.treeChanges.fire(undefined);
    }

    async getChildren(node?: ContainersNode): Promise<ContainersNode[]> {
        if (!node) {
            return this.rootNodesOrWelcome();
        }
        try {
            switch (node.kind) {
                case 'group':
                    return node.group.containers.map((container) => ({ kind: 'container', container }));
                case 'container':
                    return await this.directoryNodes(
                        Uri.from(toUriParts({ container: node.container.name, path: '/' })),
                    );
                case 'entry':
                    return await this.directoryNodes(node.uri);
                case 'notice':
                    return [];
            }
        } catch (error) {
            return [{ kind: 'notice', message: describeServerError(error).message }];
        }
    }

    getTreeItem(node: ContainersNode): TreeItem {
        switch (node.kind) {
            case 'group':
                return groupItem(node.group);
            case 'container':
                return containerItem(node.container, this.extras(node.container.name));
            case 'entry':
                return entryItem(node.uri, node.type);
            case 'notice': {
                const item = new TreeItem(node.message, TreeItemCollapsibleState.None);
                item.iconPath = new ThemeIcon('warning');
                return item;
            }
        }
    }

    /** No rows when the list cannot be had: the view's welcome content (package.json) says why. */
    private async rootNodesOrWelcome(): Promise<ContainersNode[]> {
        try {
            const nodes = await this.rootNodes();
            this.reachability.fire(undefined);
            return nodes;
        } catch (error) {
            this.reachability.fire(describeServerError(error).message);
            return [];
        }
    }

    private async rootNodes(): Promise<ContainersNode[]> {
        const { containers } = await this.server.request('hotfix/containers', {});
        containers.forEach((container) => containerNames.learn(container.name));
        const { groups, standalone } = groupContainers(containers);
        return [
            ...groups.map((group): ContainersNode => ({ kind: 'group', group })),
            ...standalone.map((container): ContainersNode => ({ kind: 'container', container })),
        ];
    }

    private async directoryNodes(directory: Uri): Promise<ContainersNode[]> {
        const { entries } = await this.server.request('hotfix/readDirectory', {
            uri: serverUri(directory),
        });
        return sortEntries(entries).map(
            ([name, type]): ContainersNode => ({
                kind: 'entry',
                uri: directory.with({ path: joinPath(directory.path, name) }),
                type: type as FileType,
            }),
        );
    }
}

function groupItem(group: ContainerGroup): TreeItem {
    const item = new TreeItem(group.label, TreeItemCollapsibleState.Expanded);
    item.id = `group:${group.kind}:${group.label}`;
    item.description = group.kind === 'compose' ? 'Compose project' : 'Swarm service';
    item.iconPath = new ThemeIcon(group.kind === 'compose' ? 'layers' : 'server-environment');
    return item;
}

function containerItem(container: ContainerInfo, extras: ContainerExtras): TreeItem {
    const item = new TreeItem(container.name, TreeItemCollapsibleState.Collapsed);
    item.id = `container:${container.id}`;
    item.description = describeWithStage(describeContainer(container, extras), extras.stage);
    item.tooltip = containerTooltip(container);
    const look = stateLook(container);
    item.iconPath = new ThemeIcon(look.icon, look.color ? new ThemeColor(look.color) : undefined);
    item.contextValue = CONTEXT.container;
    return item;
}

function entryItem(uri: Uri, type: FileType): TreeItem {
    const isDirectory = (type & FileType.Directory) !== 0;
    // resourceUri brings the file icon theme and the change decorations.
    const item = new TreeItem(uri, isDirectory ? TreeItemCollapsibleState.Collapsed : TreeItemCollapsibleState.None);
    item.id = `entry:${uri.authority}:${uri.path}`;
    item.contextValue = isDirectory ? CONTEXT.directory : CONTEXT.file;
    if (!isDirectory) {
        item.command = { command: 'vscode.open', title: 'Open', arguments: [uri] };
    }
    return item;
}
