import { EventEmitter } from 'vscode';
import { describe, expect, it, vi } from 'vitest';
import type { HotfixLine } from '../../src/server/protocol';
import {
    badgeText,
    describeWithStage,
    LifecycleTracker,
    lifecycleActions,
    stageByContainer,
    UNHARVESTED_AFTER_SECONDS,
} from '../../src/views/lifecycle';
import { FakeServer } from '../fakes/server';

function line(overrides: Partial<HotfixLine>): HotfixLine {
    return {
        containers: ['web-1'],
        containerIds: ['a1'],
        files: ['/app/app.py'],
        since: 0,
        ageSeconds: 60,
        users: ['ann'],
        stage: 'live',
        nextStep: 'harvest',
        present: true,
        successors: [],
        branch: null,
        image: null,
        notes: [],
        ...overrides,
    };
}

const lost = line({
    containers: ['web-2'],
    containerIds: ['b2'],
    stage: 'lost',
    nextStep: 'reapply',
    present: false,
    successors: ['web-2'],
    notes: ['web-2 runs without it'],
});

describe('hotfix stages per container', () => {
    it('puts a present hotfix on its containers and a gone one on its successors', () => {
        const stages = stageByContainer([line({ containers: ['web-1', 'web-3'] }), lost]);
        expect(Object.fromEntries(stages)).toEqual({ 'web-1': 'live', 'web-3': 'live', 'web-2': 'lost' });
    });

    it('lets lost win over a stage the successor holds itself', () => {
        const own = line({ containers: ['web-2'], containerIds: ['c3'] });
        expect(stageByContainer([own, lost]).get('web-2')).toBe('lost');
        expect(stageByContainer([lost, own]).get('web-2')).toBe('lost');
    });

    it('adds the stage to the row description', () => {
        expect(describeWithStage('running · 8001', 'lost')).toBe('running · 8001 · hotfix: lost');
        expect(describeWithStage('running', undefined)).toBe('running');
    });
});

describe('the lifecycle badge', () => {
    it('offers Reapply for a lost hotfix and Harvest for an old live one', () => {
        const old = line({ containers: ['api'], ageSeconds: UNHARVESTED_AFTER_SECONDS + 1 });
        const young = line({ containers: ['worker'], ageSeconds: 10 });
        const harvested = line({ containers: ['db'], stage: 'harvested', ageSeconds: 1e6 });
        const actions = lifecycleActions([lost, old, young, harvested]);
        expect(actions.map((a) => [a.action, a.container])).toEqual([
            ['reapply', 'web-2'],
            ['harvest', 'api'],
        ]);
        expect(actions[0].detail).toBe('/app/app.py — web-2 runs without it');
        expect(badgeText(actions)).toBe('$(warning) 1 lost  $(clock) 1 unharvested');
    });

    it('shows nothing when nothing is owed', () => {
        expect(badgeText(lifecycleActions([line({}), line({ stage: 'in-image', present: false })]))).toBeUndefined();
    });
});

describe('LifecycleTracker', () => {
    it('asks hotfix.status and says when the stages changed', async () => {
        let answer = [line({})];
        const server = new FakeServer().on('hotfix.status', () => ({ hotfixes: answer }));
        const tracker = new LifecycleTracker(server, 0);
        let changed = 0;
        tracker.onDidChange(() => changed++);
        await tracker.refresh();
        await tracker.refresh();
        expect(changed).toBe(1);
        expect(tracker.stageOf('web-1')).toBe('live');
        answer = [lost];
        await tracker.refresh();
        expect(changed).toBe(2);
        expect(tracker.stageOf('web-2')).toBe('lost');
        expect(server.callsOf('hotfix.status')).toEqual([{}, {}, {}]);
        tracker.dispose();
    });

    it('keeps what it knew while the server does not answer', async () => {
        const server = new FakeServer().on('hotfix.status', () => ({ hotfixes: [lost] }));
        const tracker = new LifecycleTracker(server, 0);
        await tracker.refresh();
        server.failWith('hotfix.status', 'Unavailable', 'down');
        await tracker.refresh();
        expect(tracker.stageOf('web-2')).toBe('lost');
    });
});

describe('LifecycleTracker and the server notifications', () => {
    it('asks again at once when a hotfix became lost or a container came or went', async () => {
        const server = new FakeServer().on('hotfix.status', () => ({ hotfixes: [lost] }));
        const notifications = new EventEmitter<{ method: string; params: unknown }>();
        const tracker = new LifecycleTracker(server, 0, notifications.event);
        notifications.fire({ method: 'hotfix/lifecycle', params: { lost: [lost], hotfixes: [lost] } });
        await vi.waitFor(() => expect(tracker.stageOf('web-2')).toBe('lost'));
        notifications.fire({ method: 'hotfix/didChangeContainers', params: { containers: [] } });
        notifications.fire({ method: 'hotfix/somethingElse', params: {} });
        await vi.waitFor(() => expect(server.callsOf('hotfix.status')).toHaveLength(2));
        tracker.dispose();
        notifications.fire({ method: 'hotfix/lifecycle', params: {} });
        expect(server.callsOf('hotfix.status')).toHaveLength(2);
    });
});
