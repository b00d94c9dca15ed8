import type { Progress } from 'vscode';
import type { WorkProgress } from '../server/hotfixServer';

/**
 * Feeds the server's $/progress reports into `window.withProgress`, which
 * wants increments where LSP sends absolute percentages.
 */
export function progressReporter(
    progress: Progress<{ message?: string; increment?: number }>,
    title = '',
): (report: WorkProgress) => void {
    let reported = 0;
    return ({ message, percentage }) => {
        let increment: number | undefined;
        if (typeof percentage === 'number') {
            increment = Math.max(0, percentage - reported);
            reported = Math.max(reported, percentage);
        }
        progress.report({ message: message && repeatsTitle(title, message) ? undefined : message, increment });
    };
}

/**
 * Whether a progress message only repeats the notification's title ("restart
 * web" under "Restarting web…"): each of its words begins a word of the title.
 */
export function repeatsTitle(title: string, message: string): boolean {
    const titleWords = words(title);
    const messageWords = words(message);
    return messageWords.length > 0 && messageWords.every((word) => titleWords.some((known) => known.startsWith(word)));
}

function words(text: string): string[] {
    return text
        .toLowerCase()
        .replace(/[…:.]+/g, ' ')
        .split(/\s+/)
        .filter(Boolean);
}
