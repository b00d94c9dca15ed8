import { ResponseError } from 'vscode-jsonrpc';
import { describe, expect, it } from 'vitest';
import { describeServerError, fileSystemErrorKindFor } from '../../src/fs/errors';
import { toFileSystemError } from '../../src/fs/fileSystemErrors';

function serverError(code: string, message = `${code} happened`) {
    return new ResponseError(-32001, message, { code });
}

describe('describeServerError', () => {
    it('reads data.code from a JSON-RPC ResponseError', () => {
        expect(describeServerError(serverError('Conflict', 'app.py changed'))).toEqual({
            code: 'Conflict',
            message: 'app.py changed',
        });
    });

    it('drops codes outside the contract', () => {
        expect(describeServerError(serverError('Weird'))).toEqual({ message: 'Weird happened' });
    });

    it('handles errors without data and non-errors', () => {
        expect(describeServerError(new Error('Client is not running'))).toEqual({ message: 'Client is not running' });
        expect(describeServerError('boom')).toEqual({ message: 'boom' });
    });
});

describe('server error code → FileSystemError', () => {
    const table: [string, string][] = [
        ['FileNotFound', 'FileNotFound'],
        ['FileExists', 'FileExists'],
        ['FileIsADirectory', 'FileIsADirectory'],
        ['FileNotADirectory', 'FileNotADirectory'],
        ['NoPermissions', 'NoPermissions'],
        ['Unavailable', 'Unavailable'],
        // No VS Code counterpart: a plain error, plus the provider's onDidRefuseSave.
        ['Conflict', 'Unknown'],
        ['ValidationFailed', 'Unknown'],
    ];
    for (const [serverCode, vscodeCode] of table) {
        it(`${serverCode} → ${vscodeCode}`, () => {
            const error = toFileSystemError(describeServerError(serverError(serverCode, 'the server says why')));
            expect(error.code).toBe(vscodeCode);
            expect(error.message).toBe('the server says why');
        });
    }

    it('an unreachable server is Unavailable', () => {
        expect(fileSystemErrorKindFor({ message: 'connection closed' })).toBe('Unavailable');
        expect(toFileSystemError(describeServerError(new Error('connection closed'))).code).toBe('Unavailable');
    });
});
