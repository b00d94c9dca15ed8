import { describe, expect, it } from 'vitest';
import { RestartBudget } from '../../src/server/restartBudget';
import { levelOf, StderrTail } from '../../src/server/serverLog';
import { startFailureMessage } from '../../src/views/serverProblems';

describe('levelOf', () => {
    it('keeps the level the server logged', () => {
        expect(levelOf('2026-12-07 02:30:00,123 INFO hotfix.lsp.server: listening')).toBe('info');
        expect(levelOf('2026-12-07 02:30:00,123 WARNING hotfix.lsp.watch: slow')).toBe('warn');
        expect(levelOf('2026-12-07 02:30:00,123 DEBUG hotfix: x')).toBe('debug');
        expect(levelOf('2026-12-07 02:30:00,123 ERROR hotfix: boom')).toBe('error');
    });

    it('treats unprefixed lines (tracebacks, import errors) as errors', () => {
        expect(levelOf('/usr/bin/python3: No module named hotfix')).toBe('error');
    });
});

describe('StderrTail', () => {
    it('names the unprefixed last line as the reason, and keeps only the last lines', () => {
        const tail = new StderrTail(3);
        tail.add('2026-12-07 02:30:00,123 INFO hotfix.lsp.main: starting');
        tail.add('ModuleNotFoundError: No module named pygls');
        tail.add('2026-12-07 02:30:00,124 INFO hotfix.lsp.main: bye');
        expect(tail.reason()).toBe('ModuleNotFoundError: No module named pygls');
        tail.add('a');
        tail.add('b');
        tail.add('c');
        expect(tail.reason()).toBe('c');
        tail.clear();
        expect(tail.reason()).toBeUndefined();
    });
});

describe('RestartBudget', () => {
    it('allows `count` restarts in the window, then again once it has passed', () => {
        const budget = new RestartBudget(2, 1000);
        expect([budget.tryTake(0), budget.tryTake(10), budget.tryTake(20)]).toEqual([true, true, false]);
        expect(budget.tryTake(1011)).toBe(true);
    });
});

describe('startFailureMessage', () => {
    it('says why in plain words and names the settings', () => {
        const text = startFailureMessage(new Error('no Python 3.11 or newer was found to run the Hotfix server'));
        expect(text).toBe(
            'Hotfix: the server could not start: no Python 3.11 or newer was found to run the Hotfix server. ' +
                'The log has the details; the settings "Hotfix › Server: Python" and "Hotfix › Server: Command" choose how it starts.',
        );
    });
});
