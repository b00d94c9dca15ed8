/** vscode.FileType bits, as numbers, for code that must not load `vscode`. */
export const FILE_TYPE = { File: 1, Directory: 2, SymbolicLink: 64 } as const;

export function isDirectoryType(type: number): boolean {
    return (type & FILE_TYPE.Directory) !== 0;
}

/** Directories first, then by name. */
export function sortEntries(entries: readonly [string, number][]): [string, number][] {
    return [...entries].sort(
        ([nameA, typeA], [nameB, typeB]) =>
            Number(isDirectoryType(typeB)) - Number(isDirectoryType(typeA)) || nameA.localeCompare(nameB),
    );
}
