import type { Progress } from 'vscode';
import type { WorkProgress } from '../server/hotfixServer';

/**
 * Feeds the server's $/progress reports into `window.withProgress`, which
 * wants increments where LSP sends absolute percentages.
 */
export function progressReporter(
    progress: Progress<{ message?: string; increment?: number }>,
): (report: WorkProgress) => void {
    let reported = 0;
    return ({ message, percentage }) => {
        let increment: number | undefined;
        if (typeof percentage === 'number') {
            increment = Math.max(0, percentage - reported);
            reported = Math.max(reported, percentage);
        }
        progress.report({ message, increment });
    };
}
