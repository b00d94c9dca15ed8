import { ResponseError } from 'vscode-jsonrpc';
import { plainReason } from '../../src/fs/saveRefusal';
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

describe('plainReason', () => {
    it('drops the CLI wording and hashes, keeps the reason', () => {
        expect(plainReason('web:/srv/app.py not written: SyntaxError: invalid syntax (line 3) (force to write anyway)')).toBe(
            'SyntaxError: invalid syntax (line 3)',
        );
        expect(plainReason('web is protected (label hotfix.protect=true): refusing to write; --force overrides, and the override is journalled')).toBe(
            'web is protected (label hotfix.protect=true): refusing to write',
        );
        expect(plainReason('web:/srv/app.py changed in the container (sha256:0123456789abcdef0123) after you read it')).toBe(
            'web:/srv/app.py changed in the container after you read it',
        );
        expect(
            plainReason('web:/srv/app.py changed in the container since you read it (now sha256:0123456789ab, you had sha256:ba9876543210); reload it, or compare and overwrite'),
        ).toBe('web:/srv/app.py changed in the container since you read it; reload it, or compare and overwrite');
    });
});
