import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/server/protocol';
import {
    containerTooltip,
    describeContainer,
    shortPorts,
    groupContainers,
    stateLook,
} from '../../src/views/containerGroups';

function container(name: string, extra: Partial<ContainerInfo> = {}): ContainerInfo {
    return {
        id: `${name}0123456789abcdef`,
        name,
        image: 'my_prod_service:v1.0.0',
        state: 'running',
        health: null,
        service: null,
        ports: [],
        ...extra,
    };
}

describe('groupContainers', () => {
    it('groups Compose containers by project and Swarm tasks by service', () => {
        const { groups, standalone } = groupContainers([
            container('shop-web-1', { service: 'shop/web' }),
            container('api.2.xyz', { service: 'api' }),
            container('shop-db-1', { service: 'shop/db' }),
            container('api.1.abc', { service: 'api' }),
            container('lonely'),
        ]);
        expect(groups.map((group) => [group.kind, group.label, group.containers.map((c) => c.name)])).toEqual([
            ['swarm', 'api', ['api.1.abc', 'api.2.xyz']],
            ['compose', 'shop', ['shop-db-1', 'shop-web-1']],
        ]);
        expect(standalone.map((c) => c.name)).toEqual(['lonely']);
    });

    it('keeps a Compose project and a Swarm service of the same name apart', () => {
        const { groups } = groupContainers([
            container('a', { service: 'shop/web' }),
            container('b', { service: 'shop' }),
        ]);
        expect(groups.map((group) => `${group.kind}:${group.label}`)).toEqual(['compose:shop', 'swarm:shop']);
    });

    it('leaves everything standalone when no container has a service', () => {
        const result = groupContainers([container('b'), container('a')]);
        expect(result.groups).toEqual([]);
        expect(result.standalone.map((c) => c.name)).toEqual(['a', 'b']);
    });
});

describe('container descriptions', () => {
    it('shows the compose service, state and health, published ports, changed files and the last probe', () => {
        expect(describeContainer(container('shop-web-1', { service: 'shop/web', health: 'healthy' }))).toBe(
            'web · running, healthy',
        );
        expect(describeContainer(container('x', { state: 'exited' }))).toBe('exited');
        expect(
            describeContainer(container('web', { ports: ['127.0.0.1:8001->8001/tcp', '[::1]:8001->8001/tcp', '9000/tcp'] }), {
                changedFiles: 2,
                lastProbe: { healthy: true, seconds: 1.44 },
            }),
        ).toBe('running · :8001 · 2 changed · probe ✓ 1.4 s');
        expect(describeContainer(container('web'), { changedFiles: 0, lastProbe: { healthy: false, seconds: 30 } })).toBe(
            'running · probe ✗ 30.0 s',
        );
    });

    it('shortens published ports to their host port', () => {
        expect(shortPorts(['0.0.0.0:8080->80/tcp', '127.0.0.1:8443->443/tcp', '53/udp'])).toEqual([':8080', ':8443']);
    });

    it('lists ports in the tooltip', () => {
        const tooltip = containerTooltip(
            container('web', { ports: ['127.0.0.1:8001->8001/tcp'], service: 'shop/web' }),
        );
        expect(tooltip).toContain('web (web012345678)');
        expect(tooltip).toContain('Ports: 127.0.0.1:8001->8001/tcp');
        expect(tooltip).toContain('Service: shop/web');
    });

    it('colors state and health', () => {
        expect(stateLook(container('a', { health: 'unhealthy' }))).toEqual({ icon: 'vm-running', color: 'testing.iconFailed' });
        expect(stateLook(container('a', { health: 'healthy' }))).toEqual({ icon: 'vm-running', color: 'testing.iconPassed' });
        expect(stateLook(container('a', { state: 'exited' }))).toEqual({ icon: 'vm-outline', color: undefined });
    });
});
