import type { ContentVersion } from '../server/protocol';

/** The two numbers VS Code's own "file modified since" check looks at. */
export interface StatStamp {
    mtime: number;
    size: number;
}

export interface WriteGuard {
    baseVersion?: ContentVersion;
    force?: boolean;
}

interface Basis {
    /** Version of the content the editor was loaded from (or last saved). */
    version: ContentVersion;
    /** The stat VS Code took right before that read or right after that write. */
    stamp?: StatStamp;
}

/**
 * Chooses the `baseVersion` sent with each write, so the server can refuse
 * a save over someone else's change (`Conflict`).
 *
 * `FileSystemProvider.writeFile` carries no version, so we remember the one
 * returned by the last read (or write) of each URI.
 *
 * VS Code runs its own dirty-write check before calling `writeFile`: it stats
 * the file and refuses with "file modified since" (Compare / Overwrite) when the
 * mtime advanced AND the size differs from what the editor loaded. When the
 * user then picks Overwrite, VS Code calls `writeFile` again without the
 * check; sending the old `baseVersion` would only get a second refusal. So when
 * the latest stat shows a change VS Code itself would have refused, and VS Code
 * still asks us to write, the write is deliberate: no `baseVersion`.
 * A change of the same size slips through VS Code's check; then the server's
 * version check is the only guard and we keep sending `baseVersion`.
 */
export class VersionTracker {
    private readonly basis = new Map<string, Basis>();
    private readonly latestStamp = new Map<string, StatStamp>();
    private readonly overwriteOnce = new Set<string>();
    private readonly forceOnce = new Set<string>();

    noteStat(key: string, stamp: StatStamp): void {
        this.latestStamp.set(key, stamp);
        const basis = this.basis.get(key);
        if (basis && !basis.stamp) {
            basis.stamp = stamp;
        }
    }

    noteRead(key: string, version: ContentVersion): void {
        // VS Code stats right before it reads; that stat is what its editor model remembers.
        this.basis.set(key, { version, stamp: this.latestStamp.get(key) });
    }

    noteWrite(key: string, version: ContentVersion): void {
        // VS Code stats right after a write; the next stat completes the basis.
        this.basis.set(key, { version });
    }

    forget(key: string): void {
        this.basis.delete(key);
        this.latestStamp.delete(key);
        this.overwriteOnce.delete(key);
        this.forceOnce.delete(key);
    }

    /** The user chose to overwrite the container's newer content on the next save. */
    allowOverwriteOnce(key: string): void {
        this.overwriteOnce.add(key);
    }

    /** The user chose "Save anyway" after the server's validation refused the save. */
    forceNextWrite(key: string): void {
        this.forceOnce.add(key);
    }

    /** The guard for the write about to be sent; consumes one-shot choices. */
    takeWriteGuard(key: string): WriteGuard {
        const guard: WriteGuard = {};
        if (this.forceOnce.delete(key)) {
            guard.force = true;
        }
        const basis = this.basis.get(key);
        const overwrite = this.overwriteOnce.delete(key);
        if (basis && !overwrite && !this.vscodeAlreadyAcceptedChange(key, basis)) {
            guard.baseVersion = basis.version;
        }
        return guard;
    }

    private vscodeAlreadyAcceptedChange(key: string, basis: Basis): boolean {
        const latest = this.latestStamp.get(key);
        if (!basis.stamp || !latest) {
            return false;
        }
        return latest.mtime > basis.stamp.mtime && latest.size !== basis.stamp.size;
    }
}
