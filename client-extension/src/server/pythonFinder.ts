import * as path from 'path';
import { findOnPath, MIN_PYTHON } from './serverLaunch';

/** Where an interpreter candidate came from, for the log. */
export interface PythonCandidate {
    executable: string;
    source: string;
}

/** Asks an interpreter for its version; undefined when it does not run. */
export type VersionProbe = (executable: string) => Promise<readonly [number, number] | undefined>;

/** Common places of a Python 3 outside PATH (the remote server's PATH is the login shell's). */
export const COMMON_PYTHONS = [
    '/usr/local/bin/python3',
    '/usr/bin/python3',
    '/opt/homebrew/bin/python3',
    '/opt/local/bin/python3',
];

const PATH_NAMES = ['python3.14', 'python3.13', 'python3.12', 'python3.11', 'python3'];

/**
 * The candidates in order: the `hotfix.server.python` setting, the Python
 * extension's selected interpreter, versioned then plain `python3` on PATH,
 * then {@link COMMON_PYTHONS}. Duplicates are dropped.
 */
export function pythonCandidates(
    configured: string,
    selectedByPythonExtension: string | undefined,
    pathVariable: string,
    isExecutable: (file: string) => boolean,
): PythonCandidate[] {
    const candidates: PythonCandidate[] = [];
    const add = (executable: string | undefined, source: string) => {
        if (executable && !candidates.some((known) => path.normalize(known.executable) === path.normalize(executable))) {
            candidates.push({ executable, source });
        }
    };
    add(configured || undefined, 'setting hotfix.server.python');
    add(selectedByPythonExtension, "the Python extension's selected interpreter");
    for (const name of PATH_NAMES) {
        add(findOnPath(name, pathVariable, isExecutable), 'PATH');
    }
    for (const file of COMMON_PYTHONS) {
        add(isExecutable(file) ? file : undefined, 'common location');
    }
    return candidates;
}

export interface FoundPython {
    found?: PythonCandidate;
    /** One line per candidate that was not taken, for the log. */
    rejected: string[];
}

/**
 * The first candidate (in order) whose version is at least {@link MIN_PYTHON}.
 * All are asked at once: a pyenv shim alone takes about a second to answer.
 */
export async function firstSuitablePython(candidates: PythonCandidate[], probe: VersionProbe): Promise<FoundPython> {
    const versions = await Promise.all(candidates.map((candidate) => probe(candidate.executable)));
    const rejected: string[] = [];
    for (const [index, candidate] of candidates.entries()) {
        const version = versions[index];
        if (version && isAtLeast(version, MIN_PYTHON)) {
            return { found: candidate, rejected };
        }
        rejected.push(
            `${candidate.executable} (${candidate.source}): ${version ? `Python ${version.join('.')} is too old` : 'does not run'}`,
        );
    }
    return { rejected };
}

export function isAtLeast(version: readonly [number, number], minimum: readonly [number, number]): boolean {
    return version[0] > minimum[0] || (version[0] === minimum[0] && version[1] >= minimum[1]);
}

/** Reads `sys.version_info[:2]` printed as "3.12". */
export function parseVersionOutput(output: string): readonly [number, number] | undefined {
    const match = /^(\d+)\.(\d+)\s*$/.exec(output.trim());
    return match ? [Number(match[1]), Number(match[2])] : undefined;
}
