/** A line of the server's stderr, at the level the server logged it. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

// hotfix.lsp.main logs "2026-12-07 02:30:00,123 INFO hotfix.lsp.server: message".
const LEVEL_WORD = /^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

const LEVELS: Record<string, LogLevel> = {
    DEBUG: 'debug',
    INFO: 'info',
    WARNING: 'warn',
    ERROR: 'error',
    CRITICAL: 'error',
};

/**
 * The level of a stderr line. Lines without the server's prefix (a Python
 * traceback, "No module named hotfix") are errors: only a failure prints them.
 */
export function levelOf(line: string): LogLevel {
    const match = LEVEL_WORD.exec(line);
    return match ? LEVELS[match[1]] : 'error';
}

/** The last lines of the server's stderr, to say why it exited at start. */
export class StderrTail {
    private readonly lines: string[] = [];

    constructor(private readonly keep = 20) {}

    add(line: string): void {
        this.lines.push(line);
        if (this.lines.length > this.keep) {
            this.lines.shift();
        }
    }

    clear(): void {
        this.lines.length = 0;
    }

    /** The most telling line: the last one with no log prefix (the exception), else the last. */
    reason(): string | undefined {
        const unprefixed = [...this.lines].reverse().find((line) => line.trim() && !LEVEL_WORD.test(line));
        return (unprefixed ?? this.lines[this.lines.length - 1])?.trim() || undefined;
    }
}
