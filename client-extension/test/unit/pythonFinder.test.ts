import { describe, expect, it } from 'vitest';
import {
    COMMON_PYTHONS,
    firstSuitablePython,
    isAtLeast,
    parseVersionOutput,
    pythonCandidates,
} from '../../src/server/pythonFinder';

describe('pythonCandidates', () => {
    it('orders setting, Python extension, versioned PATH names, python3, common paths; no duplicates', () => {
        // PATH's python3 is the extension's (dropped); /usr/bin/python3 comes as a common path.
        const executables = new Set(['/venv/bin/python3', '/usr/bin/python3.11', '/usr/bin/python3', COMMON_PYTHONS[0]]);
        const candidates = pythonCandidates('/opt/py/bin/python', '/venv/bin/python3', '/venv/bin:/usr/bin', (file) =>
            executables.has(file),
        );
        expect(candidates.map((candidate) => candidate.executable)).toEqual([
            '/opt/py/bin/python',
            '/venv/bin/python3',
            '/usr/bin/python3.11',
            COMMON_PYTHONS[0],
            '/usr/bin/python3',
        ]);
        expect(candidates[1].source).toBe("the Python extension's selected interpreter");
    });

    it('has no candidate on a machine without Python', () => {
        expect(pythonCandidates('', undefined, '/usr/bin', () => false)).toEqual([]);
    });
});

describe('firstSuitablePython', () => {
    it('takes the first ≥ 3.11 and says why the others were not', async () => {
        const versions: Record<string, readonly [number, number] | undefined> = {
            '/old/python3': [3, 9],
            '/broken/python3': undefined,
            '/new/python3': [3, 12],
            '/newer/python3': [3, 13],
        };
        const result = await firstSuitablePython(
            Object.keys(versions).map((executable) => ({ executable, source: 'PATH' })),
            async (executable) => versions[executable],
        );
        expect(result.found?.executable).toBe('/new/python3');
        expect(result.rejected).toEqual([
            '/old/python3 (PATH): Python 3.9 is too old',
            '/broken/python3 (PATH): does not run',
        ]);
    });

    it('finds none when all are too old', async () => {
        const result = await firstSuitablePython([{ executable: '/usr/bin/python3', source: 'PATH' }], async () => [3, 10]);
        expect(result.found).toBeUndefined();
        expect(result.rejected).toHaveLength(1);
    });
});

describe('versions', () => {
    it('compares major and minor', () => {
        expect(isAtLeast([3, 11], [3, 11])).toBe(true);
        expect(isAtLeast([4, 0], [3, 11])).toBe(true);
        expect(isAtLeast([3, 10], [3, 11])).toBe(false);
    });

    it('parses the probe output', () => {
        expect(parseVersionOutput('3.12\n')).toEqual([3, 12]);
        expect(parseVersionOutput('Python 3.12.1')).toBeUndefined();
    });
});
