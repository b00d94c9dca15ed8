import { describe, expect, it, vi } from 'vitest';
import { containerPickItems, directoryPickItems, typedPathItem } from '../../src/commands/pickers';
import { progressReporter } from '../../src/commands/progress';
import { statusBarText, statusBarTooltip } from '../../src/views/statusBar';

describe('path picker items', () => {
    it('offers .. below the root, then folders, then files', () => {
        const items = directoryPickItems('/usr/src', [
            ['z.py', 1],
            ['app', 2],
            ['link', 64 | 1],
        ]);
        expect(items.map((item) => [item.label, item.path, item.isDirectory])).toEqual([
            ['$(arrow-up) ..', '/usr', true],
            ['$(folder) app', '/usr/src/app', true],
            ['$(file) link', '/usr/src/link', false],
            ['$(file) z.py', '/usr/src/z.py', false],
        ]);
        expect(items[2].description).toBe('symbolic link');
    });

    it('offers a typed absolute path as the first choice', () => {
        expect(typedPathItem(' /usr/src/app/app.py ')).toMatchObject({ path: '/usr/src/app/app.py', typed: true, alwaysShow: true });
        expect(typedPathItem('app.py')).toBeUndefined();
    });

    it('has no .. at the root', () => {
        expect(directoryPickItems('/', [['etc', 2]]).map((item) => item.path)).toEqual(['/etc']);
    });

    it('lists running containers first', () => {
        const base = { id: 'x', image: 'img', health: null, service: null, ports: [] };
        const items = containerPickItems([
            { ...base, name: 'b', state: 'exited' },
            { ...base, name: 'c', state: 'running', service: 'shop/web' },
            { ...base, name: 'a', state: 'running' },
        ]);
        expect(items.map((item) => item.label)).toEqual(['a', 'c', 'b']);
        expect(items[1].detail).toBe('running · shop/web');
    });
});

describe('progressReporter', () => {
    it('turns LSP percentages into withProgress increments', () => {
        const report = vi.fn();
        const toVsCode = progressReporter({ report });
        toVsCode({ message: 'stopping', percentage: 10 });
        toVsCode({ message: 'probing' });
        toVsCode({ percentage: 60 });
        toVsCode({ percentage: 50 });
        expect(report.mock.calls.map(([value]) => value)).toEqual([
            { message: 'stopping', increment: 10 },
            { message: 'probing', increment: undefined },
            { message: undefined, increment: 50 },
            { message: undefined, increment: 0 },
        ]);
    });
});

describe('status bar', () => {
    it('shows container, changed files and the last probe', () => {
        expect(statusBarText({ container: 'web', changedFiles: 0 })).toBe('$(vm) web');
        expect(
            statusBarText({
                container: 'web',
                changedFiles: 2,
                lastProbe: { healthy: false, seconds: 30, probe: { ok: false, detail: 'HTTP 502' } },
            }),
        ).toBe('$(vm) web  $(diff) 2  $(error) 30.0 s');
        expect(
            statusBarTooltip({
                container: 'web',
                changedFiles: 1,
                lastProbe: { healthy: true, seconds: 1.2, probe: { ok: true, detail: 'HTTP 200' } },
            }),
        ).toContain('Last probe: healthy after 1.2 s — HTTP 200');
    });
});
