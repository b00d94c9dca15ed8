import { describe, expect, it } from 'vitest';
import { repeatsTitle } from '../../src/commands/progress';
import { containerNames } from '../../src/fs/containerNames';
import { notLiveText, savedMessage } from '../../src/views/saveFeedback';
import { ProbeHistory } from '../../src/views/probeHistory';
import { Uri } from '../fakes/vscode';

const FILE = Uri.parse('hotfix://web/usr/src/app/app.py') as any;

describe('after a save', () => {
    it('says a checkpoint was taken, or that the save was forced', () => {
        containerNames.clear();
        expect(savedMessage({ uri: FILE, checkpointed: true, forced: false })).toBe('$(check) app.py saved in web — checkpoint taken');
        expect(savedMessage({ uri: FILE, checkpointed: false, forced: false })).toBe('$(check) app.py saved in web');
        expect(savedMessage({ uri: FILE, checkpointed: false, forced: true })).toContain('marked as forced');
    });

    it('names the containers not live yet', () => {
        expect(notLiveText(['api', 'web'])).toBe('$(debug-restart) api, web: not live yet');
    });

    it('a healthy restart makes a container live; a probe alone or an unhealthy restart does not', () => {
        const probes = new ProbeHistory();
        const live: string[] = [];
        probes.onDidGoLive((container) => live.push(container));
        const healthy = { healthy: true, seconds: 1, probe: { ok: true, detail: 'HTTP 200' } };
        probes.record('web', healthy);
        probes.record('web', { ...healthy, healthy: false }, true);
        probes.record('web', healthy, true);
        expect(live).toEqual(['web']);
    });
});

describe('progress text', () => {
    it('drops a message that only repeats the title', () => {
        expect(repeatsTitle('Restarting ux-prod…', 'restart ux-prod')).toBe(true);
        expect(repeatsTitle('Restarting ux-prod…', 'probing http://127.0.0.1:8001/ (try 3)')).toBe(false);
        expect(repeatsTitle('Restarting ux-prod…', '')).toBe(false);
    });
});
