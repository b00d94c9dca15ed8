import { FileSystemError } from 'vscode';
import { describeServerError, fileSystemErrorKindFor, type ServerFailure } from './errors';

/** The FileSystemError VS Code should see for a failed server request. */
export function toFileSystemError(failure: ServerFailure): FileSystemError {
    const kind = fileSystemErrorKindFor(failure);
    return kind ? FileSystemError[kind](failure.message) : new FileSystemError(failure.message);
}

/** Runs a server request, turning its failure into a FileSystemError. */
export async function asFileSystemCall<T>(request: () => Promise<T>): Promise<T> {
    try {
        return await request();
    } catch (error) {
        throw toFileSystemError(describeServerError(error));
    }
}
