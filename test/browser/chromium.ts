/**
 * Starting Debian's Chromium for the browser tests, with Playwright (playwright-core, which
 * brings no browser of its own).
 *
 * Where is Chromium? $CHROMIUM_PATH, else /usr/bin/chromium, /usr/bin/chromium-browser,
 * /usr/bin/google-chrome. When none exists the tests skip with a loud message, unless the
 * environment variable CI is set: on CI a missing browser is a failure (install it with
 * `apt-get install -y chromium`).
 *
 * The flags: headless, no sandbox (the tests run as root), no GPU, and no background network
 * traffic (this machine's network is closed, and Chromium would otherwise keep trying to reach
 * its update, sync and component servers). Every launch gets a fresh, empty profile folder.
 */

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

/** True when the browser tests must run (and fail without a browser) rather than skip. */
export function browserRequired(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

export const MISSING_CHROMIUM_MESSAGE =
  '\n' +
  '  ************************************************************************************\n' +
  '  *  BROWSER TESTS SKIPPED: no Chromium found (looked at $CHROMIUM_PATH and          *\n' +
  `  *  ${CANDIDATES.join(', ').padEnd(78)}*\n` +
  '  *  Install it with:  apt-get update && apt-get install -y chromium                  *\n' +
  '  *  (With CI=true set, a missing browser fails these tests instead.)                *\n' +
  '  ************************************************************************************\n';

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile. Playwright passes the profile folder as --user-data-dir itself
 * (it refuses that flag in `args`), which is why this is a persistent context.
 */
export async function launchChromium(executablePath: string, viewport = { width: 1280, height: 900 }): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'minilm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
