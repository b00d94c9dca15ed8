import { beforeEach, describe, expect, it } from 'vitest';
import { targetOf } from '../../src/commands/targets';
import { ContainerNames, containerNames, serverUri } from '../../src/fs/containerNames';
import { Uri } from '../fakes/vscode';

describe('ContainerNames', () => {
    it('restores the spelling of a known name', () => {
        const names = new ContainerNames();
        names.learn('SmokeWeb');
        expect(names.restore('smokeweb')).toBe('SmokeWeb');
        expect(names.restore('SmokeWeb')).toBe('SmokeWeb');
        expect(names.restore('other')).toBe('other');
    });

    it('leaves names that differ only by case alone', () => {
        const names = new ContainerNames();
        names.learn('Web');
        names.learn('WEB');
        expect(names.restore('web')).toBe('web');
    });

    it('learns only from authorities that cannot be lower-cased copies', () => {
        const names = new ContainerNames();
        names.learnFromAuthority('smokeweb');
        expect(names.isUnknown('smokeweb')).toBe(true);
        names.learnFromAuthority('SmokeWeb');
        expect(names.isUnknown('smokeweb')).toBe(false);
        expect(names.isUnknown('Anything')).toBe(false); // has capitals: taken as is
    });
});

describe('the shared registry in URIs and command targets', () => {
    beforeEach(() => containerNames.clear());

    it('serverUri and targetOf restore a lower-cased container name', () => {
        containerNames.learn('SmokeWeb');
        const lowered = Uri.parse('hotfix://smokeweb/srv/my%20app/main.py');
        expect(serverUri(lowered)).toBe('hotfix://SmokeWeb/srv/my%20app/main.py');
        expect(targetOf(lowered)).toEqual({ container: 'SmokeWeb', path: '/srv/my app/main.py' });
    });
});
