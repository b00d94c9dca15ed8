/**
 * The few VS Code API calls the client logic makes, in one place, so unit tests
 * can replace them (`vi.mock('.../vscodeapi')`) instead of a whole `vscode`.
 */
import {
    commands,
    env,
    type ConfigurationScope,
    type Disposable,
    type InputBoxOptions,
    type MessageOptions,
    type Progress,
    type ProgressOptions,
    type QuickPickItem,
    type QuickPickOptions,
    type TextDocument,
    type TextDocumentShowOptions,
    type TextEditor,
    type TextDocumentWillSaveEvent,
    type Uri,
    type WorkspaceConfiguration,
    type WorkspaceFolder,
    window,
    workspace,
    type CancellationToken,
    type FileStat,
    type SaveDialogOptions,
} from 'vscode';

export function registerCommand(command: string, callback: (...args: any[]) => unknown): Disposable {
    return commands.registerCommand(command, callback);
}

export function executeCommand<T = unknown>(command: string, ...rest: unknown[]): Thenable<T> {
    return commands.executeCommand<T>(command, ...rest);
}

export function getConfiguration(section?: string, scope?: ConfigurationScope): WorkspaceConfiguration {
    return workspace.getConfiguration(section, scope);
}

export function onWillSaveTextDocument(listener: (event: TextDocumentWillSaveEvent) => unknown): Disposable {
    return workspace.onWillSaveTextDocument(listener);
}

export function getWorkspaceFolders(): readonly WorkspaceFolder[] {
    return workspace.workspaceFolders ?? [];
}

export function findOpenTextDocument(uri: Uri): TextDocument | undefined {
    const wanted = uri.toString();
    return workspace.textDocuments.find((document) => document.uri.toString() === wanted);
}

export function openTextDocument(uri: Uri): Thenable<TextDocument> {
    return workspace.openTextDocument(uri);
}

export function showTextDocument(document: TextDocument, options?: TextDocumentShowOptions): Thenable<TextEditor> {
    return window.showTextDocument(document, options);
}

export function activeTextEditor(): TextEditor | undefined {
    return window.activeTextEditor;
}

export function showQuickPick<T extends QuickPickItem>(
    items: readonly T[] | Thenable<readonly T[]>,
    options?: QuickPickOptions,
): Thenable<T | undefined> {
    return window.showQuickPick(items, options);
}

export function showInputBox(options: InputBoxOptions): Thenable<string | undefined> {
    return window.showInputBox(options);
}

export function showInformationMessage(
    message: string,
    options: MessageOptions = {},
    ...actions: string[]
): Thenable<string | undefined> {
    return window.showInformationMessage(message, options, ...actions);
}

export function showWarningMessage(
    message: string,
    options: MessageOptions = {},
    ...actions: string[]
): Thenable<string | undefined> {
    return window.showWarningMessage(message, options, ...actions);
}

export function showErrorMessage(
    message: string,
    options: MessageOptions = {},
    ...actions: string[]
): Thenable<string | undefined> {
    return window.showErrorMessage(message, options, ...actions);
}

export function withProgress<R>(
    options: ProgressOptions,
    task: (progress: Progress<{ message?: string; increment?: number }>, token: CancellationToken) => Thenable<R>,
): Thenable<R> {
    return window.withProgress(options, task);
}

export function showOpenDialog(options: Parameters<typeof window.showOpenDialog>[0]): Thenable<Uri[] | undefined> {
    return window.showOpenDialog(options);
}

export function statFile(uri: Uri): Thenable<FileStat> {
    return workspace.fs.stat(uri);
}

/**
 * A quick pick whose list can gain an item made from what the user types
 * (e.g. an absolute path), since `showQuickPick` only filters its items.
 */
export function showQuickPickWithTypedItem<T extends QuickPickItem>(
    items: Thenable<readonly T[]>,
    options: { placeholder: string; typedItem: (value: string) => T | undefined },
): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
        const quickPick = window.createQuickPick<T>();
        let listed: readonly T[] = [];
        const show = () => {
            const typed = options.typedItem(quickPick.value);
            quickPick.items = typed ? [typed, ...listed] : listed;
        };
        quickPick.placeholder = options.placeholder;
        quickPick.matchOnDescription = true;
        quickPick.busy = true;
        quickPick.onDidChangeValue(show);
        quickPick.onDidAccept(() => {
            resolve(quickPick.selectedItems[0] ?? quickPick.activeItems[0]);
            quickPick.hide();
        });
        quickPick.onDidHide(() => {
            resolve(undefined);
            quickPick.dispose();
        });
        items.then(
            (loaded) => {
                listed = loaded;
                quickPick.busy = false;
                show();
            },
            (error: unknown) => {
                quickPick.hide();
                reject(error);
            },
        );
        quickPick.show();
    });
}

export function showSaveDialog(options: SaveDialogOptions): Thenable<Uri | undefined> {
    return window.showSaveDialog(options);
}

export function writeFileBytes(uri: Uri, content: Uint8Array): Thenable<void> {
    return workspace.fs.writeFile(uri, content);
}

export function addWorkspaceFolder(uri: Uri, name: string): boolean {
    return workspace.updateWorkspaceFolders(workspace.workspaceFolders?.length ?? 0, 0, { uri, name });
}

export function writeClipboard(text: string): Thenable<void> {
    return env.clipboard.writeText(text);
}

export function copyResource(source: Uri, target: Uri): Thenable<void> {
    return workspace.fs.copy(source, target, { overwrite: false });
}
