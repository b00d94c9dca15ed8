import { describe, expect, it } from 'vitest';
import { VersionTracker } from '../../src/fs/versionTracker';

const KEY = 'hotfix://web/usr/src/app/app.py';

/** What VS Code does when it opens a file: stat, then read. */
function open(tracker: VersionTracker, version: string, mtime = 1000, size = 10) {
    tracker.noteStat(KEY, { mtime, size });
    tracker.noteRead(KEY, version);
}

describe('VersionTracker', () => {
    it('sends no baseVersion for a file never read (a new file, a blind API write)', () => {
        expect(new VersionTracker().takeWriteGuard(KEY)).toEqual({});
    });

    it('sends the version of the last read', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1');
        tracker.noteStat(KEY, { mtime: 1000, size: 10 }); // VS Code's pre-write stat
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v1' });
    });

    it('sends the version of the last write after a save', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1');
        tracker.noteWrite(KEY, 'v2');
        tracker.noteStat(KEY, { mtime: 2000, size: 12 }); // VS Code's post-write stat
        tracker.noteStat(KEY, { mtime: 2000, size: 12 }); // next save's pre-write stat
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v2' });
    });

    it('keeps guarding a same-size change, which VS Code cannot see', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1', 1000, 10);
        tracker.noteStat(KEY, { mtime: 5000, size: 10 });
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v1' });
    });

    it('lets VS Code\'s own "Overwrite" through: the change it refused once was accepted', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1', 1000, 10);
        // Someone else grew the file; VS Code's pre-write stat saw it and refused the save
        // (file modified since); the user picked Overwrite, so VS Code writes anyway.
        tracker.noteStat(KEY, { mtime: 5000, size: 42 });
        expect(tracker.takeWriteGuard(KEY)).toEqual({});
    });

    it('overwrite after a Conflict refusal applies to the next write only', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1');
        tracker.allowOverwriteOnce(KEY);
        expect(tracker.takeWriteGuard(KEY)).toEqual({});
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v1' });
    });

    it('"Save anyway" forces the next write only, still guarded by the version', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1');
        tracker.forceNextWrite(KEY);
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v1', force: true });
        expect(tracker.takeWriteGuard(KEY)).toEqual({ baseVersion: 'v1' });
    });

    it('forgets deleted and renamed files', () => {
        const tracker = new VersionTracker();
        open(tracker, 'v1');
        tracker.forget(KEY);
        expect(tracker.takeWriteGuard(KEY)).toEqual({});
    });
});
