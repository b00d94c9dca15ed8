import { describe, expect, it } from 'vitest';
import {
    baseName,
    buildUri,
    formatUri,
    joinPath,
    locationOf,
    normalizePath,
    parentPath,
    withScheme,
} from '../../src/fs/uris';
import { Uri } from '../fakes/vscode';

describe('buildUri', () => {
    it('builds a plain container URI', () => {
        expect(buildUri({ container: 'web', path: '/usr/src/app/app.py' })).toBe('hotfix://web/usr/src/app/app.py');
    });

    it('percent-encodes spaces and reserved characters in each path segment', () => {
        expect(buildUri({ container: 'web', path: '/srv/my file #1?.txt' })).toBe(
            'hotfix://web/srv/my%20file%20%231%3F.txt',
        );
        expect(buildUri({ container: 'web', path: '/srv/100%/a:b' })).toBe('hotfix://web/srv/100%25/a%3Ab');
    });

    it('percent-encodes unicode as UTF-8', () => {
        expect(buildUri({ container: 'web', path: '/data/café/日本.txt' })).toBe(
            'hotfix://web/data/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt',
        );
    });

    it('keeps the case of the container name (VS Code would lower-case it)', () => {
        expect(buildUri({ container: 'MyApp_Web.1', path: '/x' })).toBe('hotfix://MyApp_Web.1/x');
        expect(Uri.parse('hotfix://MyApp/x').toString()).toBe('hotfix://myapp/x');
    });

    it('adds the engine query', () => {
        expect(buildUri({ container: 'web', path: '/etc/hosts', engine: 'prod east' })).toBe(
            'hotfix://web/etc/hosts?engine=prod%20east',
        );
    });

    it('builds checkpoint URIs with the same shape', () => {
        expect(buildUri({ container: 'web', path: '/a b' }, 'hotfix-checkpoint')).toBe('hotfix-checkpoint://web/a%20b');
    });

    it('makes relative and trailing-slash paths absolute and canonical', () => {
        expect(buildUri({ container: 'web', path: 'etc/' })).toBe('hotfix://web/etc');
        expect(buildUri({ container: 'web', path: '/' })).toBe('hotfix://web/');
    });
});

describe('formatUri and locationOf round-trip through a parsed Uri', () => {
    const cases = [
        '/usr/src/app/app.py',
        '/srv/my file.txt',
        '/data/café/日本.txt',
        '/odd/50%+&=;,.txt',
    ];
    for (const path of cases) {
        it(path, () => {
            const text = buildUri({ container: 'Web', path, engine: 'remote' });
            const parsed = Uri.parse(text);
            expect(parsed.path).toBe(path);
            expect(formatUri(parsed)).toBe(text);
            expect(locationOf(parsed)).toEqual({ container: 'Web', path, engine: 'remote' });
        });
    }

    it('omits engine when the URI has none', () => {
        expect(locationOf(Uri.parse('hotfix://web/etc/hosts'))).toEqual({ container: 'web', path: '/etc/hosts' });
    });

    it('switches scheme', () => {
        expect(formatUri(withScheme(Uri.parse('hotfix://web/a%20b'), 'hotfix-live'))).toBe('hotfix-live://web/a%20b');
    });
});

describe('path helpers', () => {
    it('join, parent, base name', () => {
        expect(joinPath('/', 'etc')).toBe('/etc');
        expect(joinPath('/etc/', 'hosts')).toBe('/etc/hosts');
        expect(parentPath('/etc/hosts')).toBe('/etc');
        expect(parentPath('/etc')).toBe('/');
        expect(parentPath('/')).toBe('/');
        expect(baseName('/usr/src/app/app.py')).toBe('app.py');
        expect(baseName('/')).toBe('/');
        expect(normalizePath('')).toBe('/');
        expect(normalizePath('//')).toBe('/');
    });
});
