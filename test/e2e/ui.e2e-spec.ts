import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WEB_UI_DIR } from '../../src/common/web-ui';
import { DeploymentEventStreams } from '../../src/events/deployment-event-stream.service';
import { startApp, type TestContext } from '../support/app';
import { ConsoleWatch, DESKTOP, ensureWebBuild, launchChromium, PHONE } from '../support/browser';
import { createUser, type TestUser } from '../support/factories';

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the
 * production build of web/ served by the real app, on its own database. One story, in order:
 * each step builds on the one before.
 */
jest.setTimeout(240_000);

/** `UI_SCREENSHOTS=docs` refreshes docs/ui/*.png; otherwise they go to a temporary folder. */
const SHOTS =
  process.env.UI_SCREENSHOTS === 'docs'
    ? join(__dirname, '..', '..', 'docs', 'ui')
    : join(tmpdir(), 'berth-ui-shots');
// Generous: CI runs this beside other e2e files on two cores.
const WAIT = { timeout: 30_000 };

// Answers the test provokes on purpose (each makes the browser log "Failed to load resource").
const EXPECTED_HTTP_ERRORS = [
  /Failed to load resource: the server responded with a status of 422/, // the bad form
  /Failed to load resource: the server responded with a status of 404/, // another org's URL; no dry run
  /net::ERR_INTERNET_DISCONNECTED/, // the stream while offline
  /Failed to load resource: the server responded with a status of 409/, // shrinking a busy cluster
];

describe('Web UI (/ui) in chromium', () => {
  let ctx: TestContext;
  let base: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const watch = new ConsoleWatch(EXPECTED_HTTP_ERRORS);

  // Filled in as the story goes.
  let alice: { username: string; password: string; token: string };
  let orgId: number;
  let inviteCode: string;
  let webId: number;
  let bob: TestUser;

  const api = (): ReturnType<TestContext['http']> => ctx.http();

  async function newPage(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport });
    watch.attach(context);
    contexts.push(context);
    return context.newPage();
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    ensureWebBuild();
    mkdirSync(SHOTS, { recursive: true });
    ctx = await startApp({ env: { LOG_LEVEL: 'warn' } });
    await ctx.app.listen(0, '127.0.0.1');
    const address = ctx.app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await ctx?.close();
  });

  it('should keep the gzipped JavaScript under 150 KB', () => {
    const dir = join(WEB_UI_DIR, 'assets');
    const js = readdirSync(dir).filter((f) => f.endsWith('.js'));
    const gzipped = js.reduce((n, f) => n + gzipSync(readFileSync(join(dir, f))).length, 0);
    console.log(`web UI: ${js.length} JS file(s), ${(gzipped / 1024).toFixed(1)} KB gzipped`);
    expect(js.length).toBeGreaterThan(0);
    expect(gzipped).toBeLessThan(150 * 1024);
  });

  it('should serve the app at /ui, /ui/ and client routes, with a CSP that allows only its own scripts', async () => {
    for (const path of ['/ui', '/ui/', '/ui/orgs/1/deployments/2']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('<div id="app">');
    }
    expect((await fetch(`${base}/ui/assets/missing.js`)).status).toBe(404);
  });

  it('should sign up, create an organisation, a cluster and a deployment that runs', async () => {
    const page = await newPage();
    await page.goto(`${base}/ui`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    await shot(page, 'sign-in');
    await page.getByRole('link', { name: 'Sign up' }).click();
    const username = `alice_${Date.now().toString(36)}`;
    alice = { username, password: 'correct horse battery', token: '' };
    await page.getByLabel('Email').fill(`${username}@example.com`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Sign up' }).click();

    await page.getByRole('heading', { name: 'New organization' }).waitFor(WAIT);
    await page.getByLabel('Name').fill('platform');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('heading', { name: 'platform' }).waitFor(WAIT);
    orgId = Number(/\/ui\/orgs\/(\d+)/.exec(page.url())?.[1]);
    expect(orgId).toBeGreaterThan(0);
    alice.token = String(await page.evaluate('sessionStorage.getItem("berth.token")'));

    await page.getByText('Add a cluster').click();
    const clusterForm = page.locator('details.new-cluster');
    await clusterForm.getByLabel('Name').fill('gpu-a');
    await clusterForm.getByLabel('RAM (GiB)').fill('8');
    await clusterForm.getByLabel('CPU (cores)').fill('4');
    await clusterForm.getByLabel('GPU (devices)').fill('1');
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.getByRole('heading', { name: 'gpu-a' }).waitFor(WAIT);

    // The 422 of a bad form is shown beside each field it names.
    const form = page.locator('section.submit');
    await form.getByLabel('Name').fill('web');
    await form.getByLabel('Docker image').fill('Not An Image!');
    await form.getByLabel('RAM (GiB)').fill('-1');
    await form.getByLabel('CPU (cores)').fill('2');
    await form.getByRole('button', { name: 'Submit' }).click();
    const imageError = form.locator('[data-field-error="dep-image"]');
    await imageError.waitFor(WAIT);
    expect(await imageError.textContent()).toMatch(/image/i);
    await form.locator('[data-field-error="dep-ram"]').waitFor(WAIT);
    expect(await form.getByLabel('Docker image').getAttribute('aria-invalid')).toBe('true');
    await shot(page, 'form-422');

    await form.getByLabel('Docker image').fill('nginx:1.27');
    await form.getByLabel('RAM (GiB)').fill('6');
    await form.getByLabel('Priority').fill('1');
    await form.getByRole('button', { name: 'Preview' }).click();
    await form.locator('.plan').waitFor(WAIT);
    await form.getByRole('button', { name: 'Submit' }).click();
    await form.getByText(/Submitted web: running/).waitFor(WAIT);
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'web' }) });
    await row.getByText('running').waitFor(WAIT);
    webId = Number(await row.getAttribute('data-deployment'));
    await page.locator('[data-stream="live"]').first().waitFor(WAIT);
    await shot(page, 'dashboard-desktop');
  });

  it("should show another user's higher-priority work evicting it and its re-placement live, without reload", async () => {
    const page = await newPage();
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}/deployments/${webId}`);
    await page.locator('[data-field="status"]', { hasText: 'running' }).waitFor(WAIT);
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    await page.evaluate('window.__sameDocument = true');

    // Bob is another API client: he joins with the invite code and submits urgent work.
    const org = await api()
      .get(`/organizations/${orgId}`)
      .set('Authorization', `Bearer ${alice.token}`)
      .expect(200);
    inviteCode = (org.body as { invite_code: string }).invite_code;
    bob = await createUser(ctx, 'bob');
    await api().post(`/organizations/${inviteCode}/join`).set(bob.auth).expect(201);
    const urgent = await api()
      .post('/deployments/')
      .set(bob.auth)
      .send({
        name: 'urgent-batch',
        docker_image: 'busybox:1',
        organization_id: orgId,
        priority: 50,
        required_ram: 6,
        required_cpu: 2,
      })
      .expect(201);
    const urgentId = (urgent.body as { id: number; status: string }).id;

    await page.locator('li[data-event="preempted"]').waitFor(WAIT);
    await page.locator('[data-field="status"]', { hasText: 'pending' }).waitFor(WAIT);
    const reason = await page.locator('li[data-event="preempted"] .reason').textContent();
    expect(reason).toContain(`deployment ${urgentId}`);
    await shot(page, 'deployment-evicted');

    await api().post(`/deployments/${urgentId}/complete`).set(bob.auth).expect(200);
    await page.locator('[data-field="status"]', { hasText: 'running' }).waitFor(WAIT);
    await page.locator('li[data-event="placed"]').nth(1).waitFor(WAIT);
    expect(await page.locator('[data-field="preemption_count"]').textContent()).toContain('1');
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await shot(page, 'deployment-replaced');

    // The dashboard's live feed tells the same story.
    await page.getByRole('link', { name: '← Dashboard' }).click();
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    const second = await api()
      .post('/deployments/')
      .set(bob.auth)
      .send({
        name: 'urgent-2',
        docker_image: 'busybox:1',
        organization_id: orgId,
        priority: 60,
        required_ram: 6,
        required_cpu: 2,
      })
      .expect(201);
    await page
      .locator(`.feed li[data-event="preempted"][data-deployment="${webId}"]`)
      .waitFor(WAIT);
    await page
      .locator(
        `.feed li[data-event="placed"][data-deployment="${(second.body as { id: number }).id}"]`,
      )
      .waitFor(WAIT);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    // …and the table follows without reload: evicted `web` waits, `urgent-2` runs.
    await page.locator(`tr[data-deployment="${webId}"]`, { hasText: 'pending' }).waitFor(WAIT);
    await page.locator('tr', { hasText: 'urgent-2' }).getByText('running').waitFor(WAIT);
    await shot(page, 'dashboard-live');
  });

  it('should show a viewer no mutating buttons, and the API refuses them anyway', async () => {
    const carol = await createUser(ctx, 'carol');
    await api().post(`/organizations/${inviteCode}/join`).set(carol.auth).expect(201);
    await api()
      .patch(`/organizations/${orgId}/members/${carol.id}`)
      .set('Authorization', `Bearer ${alice.token}`)
      .send({ role: 'viewer' })
      .expect(200);

    // Signed in with the keyboard only: the form is reachable and labelled.
    const page = await newPage();
    await page.goto(`${base}/ui/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
    await page.keyboard.press('Tab'); // skip link
    await page.keyboard.press('Tab'); // brand
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('login-username');
    await page.keyboard.type(carol.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(carol.password);
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: 'platform' }).waitFor(WAIT);
    await page.getByRole('link', { name: 'web' }).waitFor(WAIT);
    expect(await page.locator('section.submit').count()).toBe(0);
    expect(await page.getByText('Add a cluster').count()).toBe(0);
    for (const name of ['Submit', 'Resize', 'Delete']) {
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    }
    await page.getByRole('link', { name: 'web' }).click();
    await page.locator('[data-field="status"]').waitFor(WAIT);
    for (const name of ['Start', 'Complete', 'Fail', 'Cancel']) {
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    }
    await shot(page, 'viewer-deployment');

    await api()
      .post('/deployments/')
      .set(carol.auth)
      .send({
        name: 'nope',
        docker_image: 'busybox:1',
        organization_id: orgId,
        required_ram: 1,
        required_cpu: 1,
      })
      .expect(403);
    await api().post(`/deployments/${webId}/cancel`).set(carol.auth).expect(403);
    await api().post(`/deployments/${webId}/complete`).set(carol.auth).expect(403);
  });

  it('should let an admin rotate the invite code and see members with their roles', async () => {
    const page = await newPage();
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}`);
    await page.getByRole('link', { name: 'Members' }).click();
    const code = page.locator('[data-invite]');
    await code.waitFor(WAIT);
    expect(await code.textContent()).toBe(inviteCode);
    expect(await page.getByRole('combobox', { name: /^Role of carol_/ }).inputValue()).toBe(
      'viewer',
    );
    await page.getByRole('button', { name: 'Rotate invite code' }).click();
    await code.filter({ hasNotText: inviteCode }).waitFor(WAIT);
    const rotated = String(await code.textContent());
    await api()
      .post(`/organizations/${inviteCode}/join`)
      .set((await createUser(ctx, 'late')).auth)
      .expect(404);
    inviteCode = rotated;
    await shot(page, 'members');
  });

  it("should never show another organisation's data", async () => {
    const dave = await createUser(ctx, 'dave');
    const other = await api()
      .post('/organizations/')
      .set(dave.auth)
      .send({ name: 'secret-org' })
      .expect(201);
    const otherId = (other.body as { id: number }).id;
    await api()
      .post('/clusters/')
      .set(dave.auth)
      .send({
        name: 'secret-cluster',
        organization_id: otherId,
        total_ram: 8,
        total_cpu: 4,
        total_gpu: 0,
      })
      .expect(201);

    const page = await newPage();
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}`);
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    const secret = await api()
      .post('/deployments/')
      .set(dave.auth)
      .send({
        name: 'secret-dep',
        docker_image: 'busybox:1',
        organization_id: otherId,
        required_ram: 1,
        required_cpu: 1,
      })
      .expect(201);
    // An event of Alice's own organisation after Dave's: once it shows, Dave's would have too.
    await api()
      .post(`/deployments/${webId}/cancel`)
      .set('Authorization', `Bearer ${alice.token}`)
      .expect(200);
    await page
      .locator(`.feed li[data-event="cancelled"][data-deployment="${webId}"]`)
      .waitFor(WAIT);
    const text = await page.locator('body').innerText();
    expect(text).not.toMatch(/secret/);
    expect(
      await page.locator('select[aria-label="Organization"] option').allTextContents(),
    ).not.toContain('secret-org');

    await page.goto(`${base}/ui/orgs/${otherId}`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor(WAIT);
    await page.goto(`${base}/ui/orgs/${orgId}/deployments/${(secret.body as { id: number }).id}`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor(WAIT);
    expect(await page.locator('body').innerText()).not.toMatch(/secret/);
  });

  it('should show when the stream is down, then catch up on what it missed (Last-Event-ID)', async () => {
    const page = await newPage();
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}`);
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    await page.evaluate('window.__sameDocument = true');
    const job = (name: string) =>
      api()
        .post('/deployments/')
        .set(bob.auth)
        .send({
          name,
          docker_image: 'busybox:1',
          organization_id: orgId,
          required_ram: 1,
          required_cpu: 1,
        })
        .expect(201);
    // An event seen live gives the page its Last-Event-ID.
    const seen = (await job('before-offline')).body as { id: number };
    await page.locator(`.feed li[data-event="queued"][data-deployment="${seen.id}"]`).waitFor(WAIT);

    // The network goes, and the server drops the open stream (as a restart would).
    await page.context().setOffline(true);
    ctx.app.get(DeploymentEventStreams).beforeApplicationShutdown();
    await page.locator('[data-stream="reconnecting"]').waitFor(WAIT);
    await shot(page, 'stream-reconnecting');
    const missed = await job('while-offline');
    await page.context().setOffline(false);
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    const id = (missed.body as { id: number }).id;
    await page.locator(`.feed li[data-event="queued"][data-deployment="${id}"]`).waitFor(WAIT);
    await page.getByRole('link', { name: 'while-offline' }).first().waitFor(WAIT);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
  });

  it('should be usable at phone width (390 px)', async () => {
    const page = await newPage(PHONE);
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}`);
    await page.getByRole('heading', { name: 'Deployments' }).waitFor(WAIT);
    await page.locator('[data-stream="live"]').waitFor(WAIT);
    // Nothing but the table's own scroller is wider than the screen.
    const overflow = await page.evaluate('document.documentElement.scrollWidth');
    expect(overflow).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'dashboard-phone');
    await page.getByRole('link', { name: 'web' }).first().click();
    await page.locator('[data-field="status"]').waitFor(WAIT);
    await shot(page, 'deployment-phone');
  });

  it('should let an admin resize and delete clusters, showing the API refusing to shrink below use', async () => {
    const page = await newPage();
    await page.addInitScript(
      `sessionStorage.setItem('berth.token', ${JSON.stringify(alice.token)})`,
    );
    await page.goto(`${base}/ui/orgs/${orgId}`);
    const card = page.locator('article.cluster', {
      has: page.getByRole('heading', { name: 'gpu-a' }),
    });
    await card.waitFor(WAIT);
    await card.getByRole('button', { name: 'Resize' }).click();
    await card.getByLabel('Total RAM (GiB)').fill('1');
    await card.getByRole('button', { name: 'Save' }).click();
    const refused = card.getByRole('alert');
    await refused.waitFor(WAIT);
    expect(await refused.textContent()).toContain('cluster/shrink_below_allocated');
    await card.getByLabel('Total RAM (GiB)').fill('16');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.getByText('/ 16 GiB used').waitFor(WAIT);

    await page.getByText('Add a cluster').click();
    const form = page.locator('details.new-cluster');
    await form.getByLabel('Name').fill('spare');
    await form.getByLabel('RAM (GiB)').fill('2');
    await form.getByLabel('CPU (cores)').fill('1');
    await form.getByRole('button', { name: 'Create cluster' }).click();
    const spare = page.locator('article.cluster', {
      has: page.getByRole('heading', { name: 'spare' }),
    });
    await spare.getByRole('button', { name: 'Delete' }).click();
    await spare.getByRole('button', { name: 'Confirm delete' }).click();
    await spare.waitFor({ state: 'detached', ...WAIT });
  });

  it('should have logged no console errors', () => {
    expect(watch.errors).toEqual([]);
  });
});
