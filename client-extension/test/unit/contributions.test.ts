import { readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Formatter {
    scheme: string;
    formatting: { label: string; separator: string };
}
interface MenuItem {
    command: string;
    when?: string;
}
const manifest = JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as {
    contributes: {
        commands: { command: string; title: string }[];
        menus: Record<string, MenuItem[]>;
        resourceLabelFormatters: Formatter[];
    };
};
const contributes = manifest.contributes;

/** What VS Code's label service does for a tab: format the URI, then take the basename of that. */
function tabLabel(scheme: string, authority: string, path: string): string {
    const formatter = contributes.resourceLabelFormatters.find((candidate) => candidate.scheme === scheme);
    if (!formatter) throw new Error(`no label formatter for ${scheme}`);
    expect(formatter.formatting.separator).toBe('/');
    const label = formatter.formatting.label.replace('${path}', path).replace('${authority}', authority);
    return posix.basename(label);
}

describe('package.json contributions', () => {
    it('a container tab names the container: "app.py (web)", its folder "app (web)"', () => {
        expect(tabLabel('hotfix', 'web', '/usr/src/app/app.py')).toBe('app.py (web)');
        expect(tabLabel('hotfix', 'web', '/usr/src/app')).toBe('app (web)');
        expect(tabLabel('hotfix-checkpoint', 'web', '/usr/src/app/app.py')).toBe('app.py (web, checkpoint)');
        expect(tabLabel('hotfix-live', 'web', '/etc/nginx.conf')).toBe("nginx.conf (web, container's copy)");
    });

    it('the file action is titled Compare with Checkpoint, under its old id', () => {
        const titles = new Map(contributes.commands.map((command) => [command.command, command.title]));
        expect(titles.get('hotfix.diffWithCheckpoint')).toBe('Compare with Checkpoint');
        expect([...titles.values()].filter((title) => /Diff with/.test(title))).toEqual([]);
    });

    it("the Explorer's menu of a container file: Copy Container Path, Compare with Checkpoint", () => {
        const explorer = contributes.menus['explorer/context'].filter((item) => item.when?.includes('resourceScheme == hotfix'));
        const forFiles = explorer.filter((item) => !/(^|[^!])explorerResourceIsFolder/.test(item.when ?? ''));
        expect(forFiles.map((item) => item.command)).toEqual(
            expect.arrayContaining(['hotfix.copyContainerPath', 'hotfix.diffWithCheckpoint']),
        );
        const forFolders = explorer.filter((item) => !(item.when ?? '').includes('!explorerResourceIsFolder'));
        expect(forFolders.map((item) => item.command)).toEqual(['hotfix.copyContainerPath']);
    });

    it('every menu entry names a declared command', () => {
        const declared = new Set(contributes.commands.map((command) => command.command));
        const used = Object.values(contributes.menus).flatMap((items) => items.map((item) => item.command));
        expect(used.filter((command) => !declared.has(command))).toEqual([]);
    });
});
