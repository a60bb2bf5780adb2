import { execFileSync, execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WEB_UI_DIR } from '../../src/common/web-ui';

/**
 * Debian's chromium (never a downloaded browser build): `.ci/run` installs it with apt when
 * `command -v chromium` finds nothing.
 */
export function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: apt-get update && apt-get install -y chromium');
  }
}

/** The production build of web/ (what `npm run build` serves); built once if missing. */
export function ensureWebBuild(): void {
  if (existsSync(join(WEB_UI_DIR, 'index.html'))) return;
  execFileSync('npm', ['run', 'build:web'], { stdio: 'inherit' });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Every console error and uncaught exception of every page of a context. The browser itself
 * logs each HTTP error answer ("Failed to load resource: … status of 422"): those the test
 * provokes on purpose are listed in `expected`.
 */
export class ConsoleWatch {
  readonly errors: string[] = [];

  constructor(private readonly expected: RegExp[] = []) {}

  attach(context: BrowserContext): void {
    context.on('page', (page) => this.page(page));
    for (const page of context.pages()) this.page(page);
  }

  private page(page: Page): void {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (!this.expected.some((re) => re.test(text))) this.errors.push(text);
    });
    page.on('pageerror', (err) => this.errors.push(`pageerror: ${err.message}`));
  }
}
