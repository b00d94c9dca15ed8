import { describe, expect, it } from 'vitest';
import { ContainersTreeProvider } from '../../src/views/containersView';
import { ProbeHistory } from '../../src/views/probeHistory';
import { FakeServer } from '../fakes/server';

const WEB = {
    id: 'web0123456789',
    name: 'web',
    image: 'my_prod_service:v1.0.0',
    state: 'running',
    health: null,
    service: null,
    ports: ['127.0.0.1:8001->8001/tcp'],
};

/** A workspace state in memory, like VS Code's Memento. */
class MemoryState {
    readonly values = new Map<string, unknown>();
    get<T>(key: string): T | undefined {
        return this.values.get(key) as T | undefined;
    }
    async update(key: string, value: unknown): Promise<void> {
        this.values.set(key, JSON.parse(JSON.stringify(value)));
    }
}

describe('Containers view', () => {
    it('rows carry the change count and last probe it is given', async () => {
        const server = new FakeServer().on('hotfix/containers', () => ({ containers: [WEB] }));
        const view = new ContainersTreeProvider(server, (name) => ({
            changedFiles: name === 'web' ? 3 : 0,
            lastProbe: { healthy: true, seconds: 0.5 },
        }));
        const [row] = await view.getChildren();
        expect(view.getTreeItem(row).description).toBe('running · :8001 · 3 changed · probe ✓ 0.5 s');
    });

    it('no rows and the reason when the list cannot be had; the reason clears once it can', async () => {
        let down = true;
        const server = new FakeServer().on('hotfix/containers', () => {
            if (down) {
                throw new Error('Cannot connect to the Docker daemon at unix:///var/run/docker.sock');
            }
            return { containers: [WEB] };
        });
        const view = new ContainersTreeProvider(server);
        const reasons: (string | undefined)[] = [];
        view.onDidChangeReachability((reason) => reasons.push(reason));
        expect(await view.getChildren()).toEqual([]);
        down = false;
        expect(await view.getChildren()).toHaveLength(1);
        expect(reasons).toEqual(['Cannot connect to the Docker daemon at unix:///var/run/docker.sock', undefined]);
    });
});

describe('ProbeHistory', () => {
    it('keeps the last probe per container across a reload (workspace state)', () => {
        const state = new MemoryState();
        const result = { healthy: true, seconds: 1.2, probe: { ok: true, detail: 'HTTP 200' } };
        new ProbeHistory(state as any).record('web', result);
        expect(new ProbeHistory(state as any).last('web')).toEqual(result);
        expect(new ProbeHistory(state as any).last('db')).toBeUndefined();
    });
});
