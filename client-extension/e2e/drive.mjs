// Drives code-server (started by run.sh) in headless Chromium through the incident fix:
// Open Container File… → edit True→False → Ctrl+S → Restart and Probe → Compare with Checkpoint
// (from the Explorer's menu on the workspace's container folder).
// Environment (set by run.sh): E2E_URL, E2E_CONTAINER, E2E_FILE, E2E_SHOTS, E2E_TOOLS,
// E2E_PROFILE, E2E_TIMEOUT (s, whole drive), E2E_CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

function env(name, fallback) {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set (run e2e/run.sh)`);
    return value;
}
const URL = env('E2E_URL');
const CONTAINER = env('E2E_CONTAINER');
const FILE = env('E2E_FILE');
const SHOTS = env('E2E_SHOTS');
const PROFILE = env('E2E_PROFILE');
const TIMEOUT_MS = Number(env('E2E_TIMEOUT', '240')) * 1000;
const PHASE = env('E2E_PHASE', 'main');
const IMAGE = env('E2E_IMAGE');
const LATE = `${CONTAINER}-late`; // started after the Containers view is showing
const BEFORE = 'cause_a_problem = True';
const AFTER = 'cause_a_problem = False';
const BASENAME = path.basename(FILE);

// playwright-core lives in the test-tools cache, outside the repository.
const require = createRequire(path.join(env('E2E_TOOLS'), 'package.json'));
const { chromium } = require('playwright-core');

const t0 = Date.now();
const log = (message) => console.log(`[drive ${((Date.now() - t0) / 1000).toFixed(2)}s] ${message}`);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let shotNumber = PHASE === 'cannot-start' ? 20 : 0; // the second phase's after the first's
async function shot(page, name) {
    // Park the pointer on an empty spot so no hover (e.g. a tab's tooltip) covers the editor.
    await page.mouse.move(700, 860);
    await page.locator('.workbench-hover, .monaco-hover:not(.hidden)').first()
        .waitFor({ state: 'hidden', timeout: 3000 }).catch(() => {});
    const file = path.join(SHOTS, `${String(++shotNumber).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    log(`screenshot ${file}`);
}

/** Polls `probe` (sync or async) every 100 ms until it returns a truthy value. */
async function until(what, probe, ms = 30000) {
    const end = Date.now() + ms;
    for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await pause(100);
    }
}

function containerFile() {
    return execFileSync('docker', ['exec', CONTAINER, 'cat', FILE], { encoding: 'utf8' });
}

/** Texts of the visible notification toasts. */
async function toastTexts(page) {
    return page.locator('.notifications-toasts .notification-toast').allInnerTexts().catch(() => []);
}

/** Fails fast on an error from the extension (server did not start, a command failed). */
async function checkNoErrorToast(page) {
    for (const text of await toastTexts(page)) {
        if (/could not start|failed:|failed to save|is NOT healthy|was not saved|after you opened it|content of the file is newer/i.test(text)) {
            throw new Error(`notification: ${text.replace(/\s+/g, ' ')}`);
        }
    }
}

const quickInput = (page) => page.locator('.quick-input-widget');
const quickInputBox = (page) => page.locator('.quick-input-widget .quick-input-box input');
const quickRows = (page) => page.locator('.quick-input-widget .quick-input-list .monaco-list-row');

/**
 * Accepts the quick-pick row showing `text` with the keyboard (arrows + Enter). Clicking
 * rows is flaky: a hover left by the pointer can cover the row and swallow the click.
 */
async function acceptRow(page, text, ms = 30000) {
    const row = quickRows(page).filter({ hasText: text }).first();
    await row.waitFor({ timeout: ms });
    const focused = page.locator('.quick-input-widget .quick-input-list .monaco-list-row.focused');
    for (let i = 0; ; i++) {
        const label = await focused.first().innerText({ timeout: 1000 }).catch(() => '');
        if (label.includes(text)) break;
        if (i >= 40) throw new Error(`no quick-pick row "${text}" could be selected (focused: "${label}")`);
        await page.keyboard.press('ArrowDown'); // the list wraps around
        await pause(50);
    }
    await page.keyboard.press('Enter');
}

async function waitQuickPick(page, placeholder, ms = 30000) {
    const input = page.locator(`.quick-input-widget .quick-input-box input[placeholder*="${placeholder}"]`);
    await input.waitFor({ state: 'visible', timeout: ms });
    return input;
}

/**
 * Runs a command from the palette. The palette lists the commands known when it
 * opens, and the extension's contributions arrive a little after the workbench:
 * when the command is not listed yet, close the palette and open it again.
 */
async function runCommand(page, title, ms = 60000) {
    log(`command: ${title}`);
    const end = Date.now() + ms;
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('F1');
        const input = quickInputBox(page);
        await input.waitFor({ state: 'visible', timeout: 15000 });
        await input.fill(`>${title}`);
        try {
            await quickRows(page).filter({ hasText: title }).first().waitFor({ timeout: 3000 });
        } catch (error) {
            if (Date.now() > end) throw error;
            await page.keyboard.press('Escape');
            await input.waitFor({ state: 'hidden', timeout: 15000 });
            continue;
        }
        if (attempt > 1) log(`the palette lists "${title}" (attempt ${attempt})`);
        await acceptRow(page, title);
        return;
    }
}

/** Picks our container in a "which container" quick pick. */
async function pickContainer(page, placeholder) {
    const input = await waitQuickPick(page, placeholder);
    await input.fill(CONTAINER);
    await acceptRow(page, CONTAINER);
    log(`quick pick "${placeholder}": ${CONTAINER}`);
}

/** Focuses the active editor by clicking its empty bottom area (no text there, so no hover). */
async function focusEditor(page) {
    const box = await page.locator('.editor-group-container.active .editor-instance .monaco-editor .overflow-guard').first().boundingBox();
    if (!box) throw new Error('no active editor to focus');
    await page.mouse.click(box.x + box.width / 3, box.y + box.height - 30);
}

const editorLines = (page) => page.locator('.editor-group-container.active .editor-instance .monaco-editor .view-lines').first();

async function main(page) {
    await page.goto(URL, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.txt' }).waitFor({ timeout: 60000 });
    log('workbench up, connected to code-server');
    await page.mouse.move(700, 860); // keep the pointer off the quick input and the tabs
    // The extension's view container in the activity bar: its contributions (commands) are loaded.
    await page.locator('.activitybar [aria-label^="Container Hotfix"]').first().waitFor({ timeout: 30000 })
        .then(() => log('the extension is loaded (Container Hotfix in the activity bar)'))
        .catch(() => log('no Container Hotfix icon in the activity bar yet; going on'));

    // 1. Open Container File… → container → typed absolute path.
    const tOpen = Date.now();
    await runCommand(page, 'Hotfix: Open Container File');
    await pickContainer(page, 'Container to open a file from');
    const pathInput = await waitQuickPick(page, 'type an absolute path');
    await pathInput.fill(FILE);
    await acceptRow(page, 'Go to this path');
    await page.locator('.tabs-container .tab.active', { hasText: BASENAME }).waitFor({ timeout: 30000 });
    await editorLines(page).filter({ hasText: BEFORE }).waitFor({ timeout: 30000 });
    await checkNoErrorToast(page);
    log(`opened hotfix://${CONTAINER}${FILE} in ${Date.now() - tOpen} ms`);
    await tabNamesTheContainer(page);
    await shot(page, 'opened');

    // 2. Replace True by False with the editor's find/replace widget, then Ctrl+S.
    const tEdit = Date.now();
    await focusEditor(page);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Control+H');
    const findWidget = page.locator('.editor-group-container.active .find-widget.visible');
    await findWidget.waitFor({ timeout: 15000 });
    const findInput = findWidget.locator('.find-part textarea, .find-part input').first();
    const replaceInput = findWidget.locator('.replace-part textarea, .replace-part input').first();
    await replaceInput.waitFor({ state: 'visible', timeout: 15000 });
    await findInput.fill(BEFORE);
    await findWidget.locator('.matchesCount', { hasText: /^1 of 1$/ }).waitFor({ timeout: 15000 });
    await replaceInput.fill(AFTER);
    await replaceInput.press('Control+Alt+Enter'); // Replace All
    await editorLines(page).filter({ hasText: AFTER }).waitFor({ timeout: 15000 });
    await page.keyboard.press('Escape');
    await findWidget.waitFor({ state: 'hidden', timeout: 15000 });
    if ((await editorLines(page).innerText()).includes(BEFORE)) throw new Error(`the editor still shows "${BEFORE}"`);
    await page.locator('.tabs-container .tab.active.dirty', { hasText: BASENAME }).waitFor({ timeout: 15000 });
    if (containerFile().includes(AFTER)) throw new Error('the container file changed before Ctrl+S (auto save?)');
    log(`edited in ${Date.now() - tEdit} ms; saving with Ctrl+S`);
    const tSave = Date.now();
    await focusEditor(page);
    await page.keyboard.press('Control+S');
    await until('the container file to say False', async () => {
        await checkNoErrorToast(page);
        return containerFile().includes(AFTER);
    }, 30000);
    await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 15000 });
    log(`saved: the container's ${FILE} says "${AFTER}" ${Date.now() - tSave} ms after Ctrl+S`);
    await shot(page, 'saved');

    // 3. Restart and Probe (the active editor names the container; answer the picker if one asks).
    const tRestart = Date.now();
    await runCommand(page, 'Hotfix: Restart and Probe');
    const healthy = page.locator('.notifications-toasts .notification-toast', { hasText: `${CONTAINER} is healthy` });
    const askWhich = page.locator('.quick-input-widget .quick-input-box input[placeholder*="Container to restart and probe"]');
    let answered = false;
    const message = await until('the "is healthy" notification', async () => {
        await checkNoErrorToast(page);
        if (!answered && (await askWhich.isVisible().catch(() => false))) {
            answered = true;
            await pickContainer(page, 'Container to restart and probe');
        }
        return (await healthy.count()) ? (await healthy.first().innerText()).replace(/\s+/g, ' ') : undefined;
    }, 90000);
    if (!/HTTP 200|\b200\b/.test(message)) throw new Error(`the healthy notification does not say 200: ${message}`);
    log(`restart and probe in ${Date.now() - tRestart} ms: "${message}"`);
    // Let the toast finish fading in before the screenshot.
    await page.locator('.notifications-toasts .notification-toast.notification-fade-in-done', { hasText: `${CONTAINER} is healthy` })
        .first().waitFor({ timeout: 3000 }).catch(() => {});
    await shot(page, 'restarted-healthy');

    // 4. Compare with Checkpoint: checkpoint (True) on the left, the container's file (False) on the right.
    const tDiff = Date.now();
    await compareFromExplorer(page);
    const diff = page.locator('.editor-group-container.active .monaco-diff-editor').first();
    await diff.waitFor({ state: 'visible', timeout: 30000 });
    await diff.locator('.editor.original .view-lines', { hasText: BEFORE }).waitFor({ timeout: 30000 });
    await diff.locator('.editor.modified .view-lines', { hasText: AFTER }).waitFor({ timeout: 30000 });
    await page.locator('.tabs-container .tab.active', { hasText: 'checkpoint' }).waitFor({ timeout: 15000 });
    await checkNoErrorToast(page);
    log(`diff editor shows "${BEFORE}" (checkpoint) and "${AFTER}" (container) after ${Date.now() - tDiff} ms`);
    await shot(page, 'compare-with-checkpoint');

    await containerAppearsByItself(page);
    await refusedSaveShowsOneMessage(page);
}

/** A lone container tab, and the window title, read "app.py (CONTAINER)" (resourceLabelFormatters). */
async function tabNamesTheContainer(page) {
    const want = `${BASENAME} (${CONTAINER})`;
    const tab = page.locator('.tabs-container .tab.active');
    const label = `${await tab.innerText()} | ${await tab.getAttribute('aria-label')}`;
    if (!label.includes(want)) throw new Error(`the tab reads "${label}", want "${want}"`);
    const title = await page.title();
    if (!title.includes(want)) throw new Error(`the window title reads "${title}", want "${want}"`);
    log(`tab "${label}", window title "${title}"`);
}

/** The file's Explorer menu (workspace folder hotfix://CONTAINER/dir): Copy Container Path, then Compare with Checkpoint. */
async function compareFromExplorer(page) {
    const explorer = page.locator('.explorer-folders-view');
    const row = explorer.locator(`.monaco-list-row[aria-label="${BASENAME}"]`).first();
    if (!(await row.isVisible())) {
        await explorer.locator('.monaco-list-row[aria-level="1"]', { hasText: new RegExp(`^${CONTAINER}: `, 'i') }).first().click();
    }
    const menuItem = (title) => page.locator('.context-view .monaco-menu .action-label', { hasText: new RegExp(`^${title}$`) }).first();
    const openMenu = async () => {
        await row.click({ button: 'right' });
        await menuItem('Compare with Checkpoint').waitFor({ timeout: 15000 });
        await pause(500); // a click while the menu fades in is lost (measured)
    };
    await openMenu();
    await menuItem('Copy Container Path').click();
    const copied = await until('the clipboard', () => page.evaluate(() => navigator.clipboard.readText()).catch(() => ''), 5000);
    if (copied !== `${CONTAINER}:${FILE}`) throw new Error(`Copy Container Path copied "${copied}", want "${CONTAINER}:${FILE}"`);
    await openMenu();
    const items = (await page.locator('.context-view .monaco-menu .action-label').allInnerTexts()).filter(Boolean);
    log(`Explorer menu of ${BASENAME}: ${items.join(' | ')}`);
    await shot(page, 'explorer-menu');
    await menuItem('Compare with Checkpoint').click();
}

const containersView = (page) => page.locator('[id="workbench.view.extension.hotfix"]');

/** A container started after the Containers view showed appears without Refresh. */
async function containerAppearsByItself(page) {
    await page.locator('.activitybar [aria-label^="Container Hotfix"]').first().click();
    await containersView(page).locator('.monaco-list-row', { hasText: CONTAINER }).first().waitFor({ timeout: 30000 });
    const tStart = Date.now();
    execFileSync('docker', ['run', '-d', '--name', LATE, IMAGE], { encoding: 'utf8' });
    const started = Date.now();
    await containersView(page).locator('.monaco-list-row', { hasText: LATE }).first().waitFor({ timeout: 10000 });
    const shown = Date.now() - started;
    log(`${LATE} shown in the Containers view ${shown} ms after docker run returned (${Date.now() - tStart} ms in all), no Refresh`);
    if (shown > 2500) throw new Error(`the new container took ${shown} ms to appear (want ≤ 2 s + one poll)`);
    await shot(page, 'container-appears-by-itself');
}

const toasts = (page) => page.locator('.notifications-toasts .notification-toast');

/** A syntax error saved with Ctrl+S: the extension's one message (Save Anyway), nothing else. */
async function refusedSaveShowsOneMessage(page) {
    await runCommand(page, 'Notifications: Clear All Notifications'); // the earlier "is healthy"
    await toasts(page).first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
    await page.locator('.tabs-container .tab', { hasText: BASENAME }).first().click();
    await focusEditor(page);
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\ndef broken(:\n');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: BASENAME }).waitFor({ timeout: 15000 });
    await page.keyboard.press('Control+S');
    const ours = toasts(page).filter({ hasText: 'was not saved' });
    await ours.first().waitFor({ timeout: 30000 });
    await pause(1500); // VS Code's own "Failed to save" would be up by now
    const texts = (await toastTexts(page)).map((text) => text.replace(/\s+/g, ' '));
    log(`refused save: ${texts.length} notification(s): ${JSON.stringify(texts)}`);
    if (texts.length !== 1) throw new Error(`a refused save shows ${texts.length} notifications, want 1`);
    if (!/Save Anyway/.test(texts[0]) || /force|--|sha256/.test(texts[0])) throw new Error(`unexpected text: ${texts[0]}`);
    await shot(page, 'refused-save-one-message');
    if (containerFile().includes('def broken(')) throw new Error('the refused content reached the container');
    // Close the question without a choice: the edits stay unsaved (measured: what VS Code shows then).
    await runCommand(page, 'Notifications: Clear All Notifications');
    await pause(1500);
    log(`after closing it: ${JSON.stringify((await toastTexts(page)).map((t) => t.replace(/\s+/g, ' ')))}`);
    await shot(page, 'refused-save-closed');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: BASENAME }).waitFor({ timeout: 5000 });
    // Back to the container's copy, and no notifications left for the next step.
    await focusEditor(page);
    await runCommand(page, 'File: Revert File');
    await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 15000 });
    await runCommand(page, 'Notifications: Clear All Notifications');
    if (containerFile().includes('def broken(')) throw new Error('the refused content reached the container');
}

/** A server that exits at start: one notification, with Show Log and Open Settings. */
async function serverThatCannotStart(page) {
    await page.goto(URL, { waitUntil: 'domcontentloaded' });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    // Showing the Containers view activates the extension, which starts the server.
    await page.locator('.activitybar [aria-label^="Container Hotfix"]').first().click({ timeout: 60000 });
    const failure = toasts(page).filter({ hasText: 'could not start' });
    await failure.first().waitFor({ timeout: 30000 });
    await pause(3000); // the client would have retried and complained by now
    const texts = (await toastTexts(page)).map((text) => text.replace(/\s+/g, ' '));
    log(`server that cannot start: ${JSON.stringify(texts)}`);
    if (texts.length !== 1) throw new Error(`${texts.length} notifications for a server that cannot start, want 1`);
    if (!/Show Log/.test(texts[0]) || !/Open Settings/.test(texts[0])) throw new Error(`no Show Log / Open Settings: ${texts[0]}`);
    await shot(page, 'server-cannot-start');
}

fs.mkdirSync(SHOTS, { recursive: true });
fs.rmSync(PROFILE, { recursive: true, force: true });
const context = await chromium.launchPersistentContext(PROFILE, {
    executablePath: env('E2E_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    viewport: { width: 1400, height: 900 },
    permissions: ['clipboard-read', 'clipboard-write'], // Copy Container Path
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
let failed = false;
const page = context.pages()[0] ?? (await context.newPage());
page.on('pageerror', (error) => log(`page error: ${error.message}`));
try {
    let timer;
    const overall = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the drive took longer than ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    });
    await Promise.race([PHASE === 'cannot-start' ? serverThatCannotStart(page) : main(page), overall]).finally(() => clearTimeout(timer));
    log('PASSED');
} catch (error) {
    failed = true;
    log(`FAILED: ${error instanceof Error ? error.message : error}`);
    for (const text of await toastTexts(page)) log(`notification: ${text.replace(/\s+/g, ' ')}`);
    await shot(page, 'error').catch((e) => log(`no error screenshot: ${e.message}`));
} finally {
    await context.close().catch(() => {});
    try {
        execFileSync('docker', ['rm', '-f', LATE], { stdio: 'ignore' });
    } catch {
        // never started
    }
}
process.exit(failed ? 1 : 0);
