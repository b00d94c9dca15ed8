import type { ContainerInfo, HotfixStage } from '../server/protocol';

export interface ContainerGroup {
    /** Compose project or Swarm service name. */
    label: string;
    kind: 'compose' | 'swarm';
    containers: ContainerInfo[];
}

export interface GroupedContainers {
    groups: ContainerGroup[];
    /** Containers that belong to no project or service. */
    standalone: ContainerInfo[];
}

/**
 * Groups containers the way the server labels them: `service` is
 * `project/service` for Compose, a bare name for a Swarm service, or null.
 */
export function groupContainers(containers: readonly ContainerInfo[]): GroupedContainers {
    const groups = new Map<string, ContainerGroup>();
    const standalone: ContainerInfo[] = [];
    for (const container of containers) {
        if (!container.service) {
            standalone.push(container);
            continue;
        }
        const slash = container.service.indexOf('/');
        const kind = slash >= 0 ? 'compose' : 'swarm';
        const label = slash >= 0 ? container.service.slice(0, slash) : container.service;
        const key = `${kind}:${label}`;
        const group = groups.get(key) ?? { label, kind, containers: [] };
        group.containers.push(container);
        groups.set(key, group);
    }
    const byName = (a: ContainerInfo, b: ContainerInfo) => a.name.localeCompare(b.name);
    const sorted = [...groups.values()].sort((a, b) => a.label.localeCompare(b.label));
    sorted.forEach((group) => group.containers.sort(byName));
    return { groups: sorted, standalone: [...standalone].sort(byName) };
}

/** Compose service name within its project, if any. */
export function composeServiceOf(container: ContainerInfo): string | undefined {
    const slash = container.service?.indexOf('/') ?? -1;
    return slash >= 0 ? container.service!.slice(slash + 1) : undefined;
}

/** "running, healthy" / "exited" */
export function describeState(container: ContainerInfo): string {
    return container.health ? `${container.state}, ${container.health}` : container.state;
}

/** What the extension knows of a container besides the server's list. */
export interface ContainerExtras {
    changedFiles?: number;
    lastProbe?: { healthy: boolean; seconds: number };
    /** Its hotfix's stage (views/lifecycle.ts). */
    stage?: HotfixStage;
}

/** "127.0.0.1:8001->8001/tcp" → ":8001"; unpublished ports are left out. */
export function shortPorts(ports: readonly string[]): string[] {
    const published = ports
        .map((port) => /:(\d+)->/.exec(port)?.[1])
        .filter((port): port is string => port !== undefined);
    return [...new Set(published)].map((port) => `:${port}`);
}

/**
 * One line under the container's name in the tree, most telling first:
 * "api · running, healthy · :8001 · 2 changed · probe ✓ 1.4 s".
 */
export function describeContainer(container: ContainerInfo, extras: ContainerExtras = {}): string {
    const parts = [composeServiceOf(container), describeState(container), shortPorts(container.ports).join(' ')];
    if (extras.changedFiles) {
        parts.push(`${extras.changedFiles} changed`);
    }
    if (extras.lastProbe) {
        parts.push(`probe ${extras.lastProbe.healthy ? '✓' : '✗'} ${extras.lastProbe.seconds.toFixed(1)} s`);
    }
    return parts.filter(Boolean).join(' · ');
}

export function containerTooltip(container: ContainerInfo): string {
    const lines = [
        `${container.name} (${container.id.slice(0, 12)})`,
        `Image: ${container.image}`,
        `State: ${describeState(container)}`,
    ];
    if (container.service) {
        lines.push(`Service: ${container.service}`);
    }
    if (container.ports.length > 0) {
        lines.push(`Ports: ${container.ports.join(', ')}`);
    }
    return lines.join('\n');
}

export type StateLook = { icon: string; color?: string };

/** Codicon and theme color for a container's state and health. */
export function stateLook(container: ContainerInfo): StateLook {
    if (container.state !== 'running') {
        return { icon: 'vm-outline', color: container.state === 'paused' ? 'charts.yellow' : undefined };
    }
    switch (container.health) {
        case 'unhealthy':
            return { icon: 'vm-running', color: 'testing.iconFailed' };
        case 'starting':
            return { icon: 'vm-running', color: 'charts.yellow' };
        default:
            return { icon: 'vm-running', color: 'testing.iconPassed' };
    }
}
