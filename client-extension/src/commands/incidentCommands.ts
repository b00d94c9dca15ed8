import {
    getWorkspaceFolders,
    showInformationMessage,
    showInputBox,
    showOpenDialog,
} from '../common/vscodeapi';
import { showMarkdownPreview } from '../views/readonlyDocuments';
import { describeServerError } from '../fs/errors';
import { offerHarvestActions } from './harvestResult';
import { commitImageArgs, describeCommitImage, harvestArgs, suggestImageTag } from './params';
import { containerTargetOrPick, targetOrActiveEditor } from './pickers';
import { runWithProgress } from './healthCommands';
import type { Services } from './services';

/** Harvest to Branch…: copy the container's changes into a git branch of a local repository. */
export async function harvestToBranch(services: Services, argument?: unknown): Promise<void> {
    const target = await containerTargetOrPick(argument, services.server, 'Container whose changes to harvest');
    if (!target) {
        return;
    }
    const repo = await askRepository();
    if (!repo) {
        return;
    }
    const branch = await showInputBox({
        title: `Harvest ${target.container} to a branch`,
        prompt: `New branch in ${repo}`,
        placeHolder: 'Branch name (empty: the server names it)',
    });
    if (branch === undefined) {
        return;
    }
    const result = await runWithProgress(`Harvesting ${target.container}…`, (options) =>
        services.server.executeCommand('hotfix.harvest', harvestArgs(target.container, repo, branch), options),
    );
    if (result) {
        await offerHarvestActions(repo, result);
    }
}

/** The repository folder: the first local workspace folder, confirmed or edited; else a folder dialog. */
async function askRepository(): Promise<string | undefined> {
    const local = getWorkspaceFolders().find((folder) => folder.uri.scheme === 'file');
    if (local) {
        return showInputBox({
            title: 'Git repository to harvest into',
            value: local.uri.fsPath,
            prompt: 'Path of a local git repository',
            validateInput: (value) => (value.trim() ? undefined : 'A repository path is needed'),
        }).then((value) => value?.trim());
    }
    const picked = await showOpenDialog({
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: 'Harvest into this repository',
    });
    return picked?.[0]?.fsPath;
}

/** Commit Image…: an image holding just the fix, with an editable tag. */
export async function commitImage(services: Services, argument?: unknown): Promise<void> {
    const target = await containerTargetOrPick(argument, services.server, 'Container to commit as an image');
    if (!target) {
        return;
    }
    const image = await imageOf(services, target.container);
    const tag = await showInputBox({
        title: `Commit ${target.container} as an image`,
        prompt: 'Image tag (empty: the server chooses)',
        value: image ? suggestImageTag(image, new Date()) : '',
    });
    if (tag === undefined) {
        return;
    }
    const result = await runWithProgress(`Committing ${target.container}…`, (options) =>
        services.server.executeCommand('hotfix.commitImage', commitImageArgs(target.container, tag), options),
    );
    if (result) {
        await showInformationMessage(describeCommitImage(target.container, result));
    }
}

async function imageOf(services: Services, container: string): Promise<string | undefined> {
    try {
        const { containers } = await services.server.request('hotfix/containers', {});
        return containers.find((info) => info.name === container || info.id.startsWith(container))?.image;
    } catch {
        return undefined;
    }
}

/** Show Incident Report: the server's Markdown record, for the active container or all. */
export async function showIncidentReport(services: Services, argument?: unknown): Promise<void> {
    const target = targetOrActiveEditor(argument);
    try {
        const { markdown } = await services.server.executeCommand(
            'hotfix.report',
            target ? { container: target.container } : {},
        );
        await showMarkdownPreview(`incident-report-${target?.container ?? 'all'}.md`, markdown);
    } catch (error) {
        await showInformationMessage(`No incident report: ${describeServerError(error).message}`);
    }
}
