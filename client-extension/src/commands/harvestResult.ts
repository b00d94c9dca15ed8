import { execFile } from 'child_process';
import { showErrorMessage, showInformationMessage, writeClipboard } from '../common/vscodeapi';
import type { HarvestResult } from '../server/protocol';
import { describeHarvest } from './params';

const CHECK_OUT = 'Check Out';
const COPY_BRANCH = 'Copy Branch';

/** Runs git in the repository; resolves with its first error line, or undefined when it worked. */
export type GitRunner = (repo: string, args: string[]) => Promise<string | undefined>;

const runGit: GitRunner = (repo, args) =>
    new Promise((resolve) => {
        execFile('git', ['-C', repo, ...args], { timeout: 30_000 }, (error, _stdout, stderr) => {
            resolve(error ? (stderr.trim().split('\n')[0] || error.message) : undefined);
        });
    });

/** The harvest's result, with what one does next: check the branch out, or copy its name. */
export async function offerHarvestActions(repo: string, result: HarvestResult, git: GitRunner = runGit): Promise<void> {
    const choice = await showInformationMessage(describeHarvest(result), {}, CHECK_OUT, COPY_BRANCH);
    if (choice === COPY_BRANCH) {
        await writeClipboard(result.branch);
    } else if (choice === CHECK_OUT) {
        const problem = await git(repo, ['switch', result.branch]);
        if (problem) {
            await showErrorMessage(`Could not check out ${result.branch} in ${repo}: ${problem}`);
        } else {
            await showInformationMessage(`${repo} is now on ${result.branch}.`);
        }
    }
}
