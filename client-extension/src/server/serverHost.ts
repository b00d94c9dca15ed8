import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { extensions, Uri } from 'vscode';
import { firstSuitablePython, type FoundPython, parseVersionOutput, pythonCandidates } from './pythonFinder';

/** `bundled/libs` of the installed extension, when the .vsix carries the server (make dist). */
export function bundledLibs(extensionPath: string): string | undefined {
    const libs = path.join(extensionPath, 'bundled', 'libs');
    return fs.existsSync(path.join(libs, 'hotfix', '__init__.py')) ? libs : undefined;
}

/** The first Python ≥ 3.11 of the setting, the Python extension, PATH and the common paths. */
export async function findPython(configured: string, env: Record<string, string | undefined>): Promise<FoundPython> {
    const selected = await pythonExtensionInterpreter();
    const candidates = pythonCandidates(configured, selected, env.PATH ?? '', isExecutableFile);
    return firstSuitablePython(candidates, pythonVersion);
}

export function isExecutableFile(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function pythonVersion(executable: string): Promise<readonly [number, number] | undefined> {
    return new Promise((resolve) => {
        execFile(
            executable,
            ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
            { timeout: 5000 },
            (error, stdout) => resolve(error ? undefined : parseVersionOutput(stdout)),
        );
    });
}

/** The part of the Python extension's API used here (`@vscode/python-extension`'s `environments`). */
interface PythonEnvironmentsApi {
    environments?: {
        getActiveEnvironmentPath(): { path: string };
        resolveEnvironment(
            environment: { path: string },
        ): Promise<{ executable: { uri?: Uri } } | undefined>;
    };
}

/** The interpreter selected in the Python extension, if it is installed; never fails. */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
    const extension = extensions.getExtension<PythonEnvironmentsApi>('ms-python.python');
    if (!extension) {
        return undefined;
    }
    try {
        const api = extension.isActive ? extension.exports : await withTimeout(extension.activate(), 5000);
        const environments = api?.environments;
        if (!environments) {
            return undefined;
        }
        const resolved = await environments.resolveEnvironment(environments.getActiveEnvironmentPath());
        return resolved?.executable.uri?.fsPath;
    } catch {
        return undefined;
    }
}

function withTimeout<T>(promise: Thenable<T>, milliseconds: number): Promise<T | undefined> {
    return Promise.race([
        Promise.resolve(promise),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), milliseconds)),
    ]);
}
