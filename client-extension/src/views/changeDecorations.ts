import {
    type CancellationToken,
    type Event,
    type FileDecoration,
    type FileDecorationProvider,
    ThemeColor,
    type Uri,
} from 'vscode';
import { HOTFIX_SCHEME } from '../fs/uris';
import type { ChangeStatus } from '../server/protocol';
import type { ChangeTracker } from './changeTracker';

const DECORATIONS: Record<ChangeStatus, { badge: string; tooltip: string; color: string }> = {
    modified: {
        badge: 'M',
        tooltip: 'Changed in the container since its checkpoint',
        color: 'gitDecoration.modifiedResourceForeground',
    },
    created: {
        badge: 'A',
        tooltip: 'Created in the container',
        color: 'gitDecoration.addedResourceForeground',
    },
    deleted: {
        badge: 'D',
        tooltip: 'Deleted from the container',
        color: 'gitDecoration.deletedResourceForeground',
    },
};

/** Marks changed container files, in the Containers view and the Explorer alike. */
export class ChangeDecorationProvider implements FileDecorationProvider {
    readonly onDidChangeFileDecorations: Event<Uri[]>;

    constructor(private readonly changes: ChangeTracker) {
        this.onDidChangeFileDecorations = changes.onDidChange;
    }

    provideFileDecoration(uri: Uri, _token: CancellationToken): FileDecoration | undefined {
        if (uri.scheme !== HOTFIX_SCHEME) {
            return undefined;
        }
        const status = this.changes.statusOf(uri);
        if (!status) {
            return undefined;
        }
        const { badge, tooltip, color } = DECORATIONS[status];
        return { badge, tooltip, color: new ThemeColor(color), propagate: true };
    }
}
