import { type Disposable, EventEmitter, type TextDocumentContentProvider, Uri, workspace } from 'vscode';
import { executeCommand, openTextDocument, showSaveDialog, showTextDocument, writeFileBytes } from '../common/vscodeapi';

/** Read-only text the extension shows (diffs, incident reports): no save prompt on close. */
export const TEXT_SCHEME = 'hotfix-text';

const contents = new Map<string, string>();
const changes = new EventEmitter<Uri>();

const provider: TextDocumentContentProvider = {
    onDidChange: changes.event,
    provideTextDocumentContent: (uri) => contents.get(uri.path) ?? '',
};

export function registerReadonlyDocuments(): Disposable {
    return workspace.registerTextDocumentContentProvider(TEXT_SCHEME, provider);
}

/** `name` keeps its extension, so the language follows (`.diff`, `.md`). */
export function readonlyUri(name: string, content: string): Uri {
    const uri = Uri.from({ scheme: TEXT_SCHEME, path: `/${name.replace(/[/\\]/g, '_')}` });
    contents.set(uri.path, content);
    changes.fire(uri);
    return uri;
}

/** Opens `content` as a read-only document titled `name`. */
export async function showReadonlyText(name: string, content: string): Promise<void> {
    await showTextDocument(await openTextDocument(readonlyUri(name, content)), { preview: false });
}

/** The last Markdown shown as a preview, for "Save As…". */
let lastPreview: { name: string; content: string } | undefined;

/** Renders `content` in VS Code's Markdown preview (read-only; Save As… keeps a copy). */
export async function showMarkdownPreview(name: string, content: string): Promise<void> {
    lastPreview = { name, content };
    await executeCommand('setContext', 'hotfix.reportShown', true); // Save As… in the preview's title
    await executeCommand('markdown.showPreview', readonlyUri(name, content));
}

/** Save As… of the last preview: a file the user picks. */
export async function saveLastPreviewAs(): Promise<void> {
    if (!lastPreview) {
        return;
    }
    const target = await showSaveDialog({ defaultUri: Uri.file(lastPreview.name), filters: { Markdown: ['md'] } });
    if (target) {
        await writeFileBytes(target, new TextEncoder().encode(lastPreview.content));
    }
}
