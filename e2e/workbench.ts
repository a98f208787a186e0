// A page object for the workbench, given to specs as the `bench` fixture.
import { readFile } from 'node:fs/promises';
import AxeBuilder from '@axe-core/playwright';
import {
  test as base,
  expect,
  type ConsoleMessage,
  type Download,
  type Page,
} from '@playwright/test';

export interface RunSetup {
  teacher?: string;
  dataset?: string;
  student?: string;
  method?: string;
  backend?: string;
  seed?: number;
  steps?: number;
  testExamples?: number;
  /** By label, e.g. { 'Learning rate': '0.01' }. */
  params?: Record<string, string | number>;
}

/** The Sweep tab's lists, by field; methods by their ids (the rest stay as they are). */
export interface SweepSetup {
  methods?: string[];
  shots?: string;
  seeds?: string;
  gridParam?: string;
  gridValues?: string;
}

/** axe-core's rule tags of WCAG 2.1 levels A and AA: the rule set every page state must pass. */
const WCAG21AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** One rule axe-core found violated, with the elements that violate it. */
type AxeViolation = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number];

/** An axe-core check of one page state: its violations and a readable summary of them. */
export interface AxeCheck {
  violations: AxeViolation[];
  summary: string;
}

/** Statuses after which a run no longer changes. */
const FINAL = /^(done|stopped|failed|interrupted)$/;

export class Workbench {
  /** The page's and its workers' latest console lines, for the message of a run that hangs. */
  private readonly consoleTail: string[] = [];

  constructor(readonly page: Page) {
    const keep = (where: string) => (m: ConsoleMessage) => {
      this.consoleTail.push(`${where} ${m.type()}: ${m.text()}`);
      this.consoleTail.splice(0, this.consoleTail.length - 30);
    };
    page.on('console', keep('page'));
    page.on('worker', (worker) => worker.on('console', keep(`worker ${worker.url()}`)));
  }

  /** Opens the page (`?testing` lists the test-only probe method) and waits for the catalog. */
  async open(opts: { testing?: boolean } = {}): Promise<void> {
    await this.page.goto(opts.testing ? '/?testing' : '/');
    await expect(this.runButton).toBeEnabled({ timeout: 30_000 });
  }

  get runButton() {
    return this.page.getByRole('button', { name: 'Run', exact: true });
  }

  get runView() {
    return this.page.getByTestId('run-view');
  }

  get runItems() {
    return this.page.getByTestId('run-item');
  }

  combobox(name: string) {
    return this.page.getByRole('combobox', { name, exact: true });
  }

  /** A field of the run or sweep form (a running run's view has fields of its live parameters too). */
  field(label: string) {
    return this.page
      .getByRole('complementary', { name: 'Configuration' })
      .getByLabel(label, { exact: true });
  }

  async configure(setup: RunSetup): Promise<void> {
    for (const name of ['teacher', 'dataset', 'method', 'student', 'backend'] as const) {
      const value = setup[name];
      if (value !== undefined) {
        await this.combobox(name[0].toUpperCase() + name.slice(1)).selectOption(value);
      }
    }
    if (setup.seed !== undefined) await this.field('Seed').fill(String(setup.seed));
    if (setup.steps !== undefined) await this.field('Steps').fill(String(setup.steps));
    if (setup.testExamples !== undefined) {
      await this.field('Test examples').fill(String(setup.testExamples));
    }
    for (const [label, value] of Object.entries(setup.params ?? {})) {
      await this.field(label).fill(String(value));
    }
  }

  /** Configures and starts a run; the page selects it. */
  async run(setup: RunSetup = {}): Promise<void> {
    await this.configure(setup);
    await this.runButton.click();
    await expect(this.runView).toBeVisible();
  }

  async waitForEnd(timeout = 120_000): Promise<string> {
    try {
      await expect(this.runView).toHaveAttribute('data-status', FINAL, { timeout });
    } catch (error) {
      // Say where the run stood, so a hang seen once in CI can be traced from its log.
      const progress = await this.page
        .getByTestId('progress-text')
        .textContent({ timeout: 1000 })
        .catch(() => 'no progress line');
      console.log(
        `[run did not end] progress: ${progress}\n[console, last lines]\n${this.consoleTail.join('\n')}`,
      );
      throw error;
    }
    return (await this.runView.getAttribute('data-status'))!;
  }

  /** Switches the page to a theme with the "Dark theme" toggle (a no-op when it is on already). */
  async setTheme(theme: 'light' | 'dark'): Promise<void> {
    const toggle = this.page.getByRole('button', { name: 'Dark theme' });
    if ((await toggle.getAttribute('aria-pressed')) !== String(theme === 'dark')) {
      await toggle.click();
    }
    await expect(this.page.locator('html')).toHaveAttribute('data-theme', theme);
  }

  /** Opens the Sweep tab of the right panel. */
  async openSweep(): Promise<void> {
    await this.page.getByRole('tab', { name: 'Sweep' }).click();
    await expect(this.startSweepButton).toBeVisible();
  }

  get startSweepButton() {
    return this.page.getByRole('button', { name: 'Start sweep', exact: true });
  }

  /** The line under the sweep form: "8 runs (…)" or the sweep's error. */
  get sweepPlan() {
    return this.page.getByTestId('sweep-plan');
  }

  get sweepView() {
    return this.page.getByTestId('sweep-view');
  }

  get sweepItems() {
    return this.page.getByTestId('sweep-item');
  }

  async configureSweep(setup: SweepSetup): Promise<void> {
    if (setup.methods) {
      const checks = this.page.locator('.method-checks input[type=checkbox]');
      for (let i = 0; i < (await checks.count()); i++) {
        const id = await checks.nth(i).locator('xpath=..').locator('code').textContent();
        await checks.nth(i).setChecked(setup.methods.includes(id ?? ''));
      }
    }
    if (setup.shots !== undefined) await this.field('K values').fill(setup.shots);
    if (setup.seeds !== undefined) await this.field('Seeds').fill(setup.seeds);
    if (setup.gridParam !== undefined) {
      await this.combobox('Grid parameter').selectOption(setup.gridParam);
    }
    if (setup.gridValues !== undefined) await this.field('Grid values').fill(setup.gridValues);
  }

  /** Pastes a sweep file's text into the Sweep tab and loads it. */
  async pasteSweep(text: string): Promise<void> {
    const box = this.page.getByLabel('Sweep file JSON');
    if (!(await box.isVisible())) await this.page.getByText('Paste a sweep file').click();
    await box.fill(text);
    await this.page.getByRole('button', { name: 'Load pasted sweep' }).click();
  }

  chart(name: string) {
    return this.page.getByTestId(`chart-${name}`);
  }

  /** How many points a scalar chart draws (0 while it does not exist). */
  async points(name: string): Promise<number> {
    const chart = this.chart(name);
    return (await chart.count()) ? Number(await chart.getAttribute('data-points')) : 0;
  }

  /** Runs `click` and returns the downloads it causes, in order. */
  async downloads(count: number, click: () => Promise<void>): Promise<Download[]> {
    const downloads: Download[] = [];
    const collect = (d: Download) => downloads.push(d);
    this.page.on('download', collect);
    await click();
    await expect.poll(() => downloads.length).toBe(count);
    this.page.off('download', collect);
    return downloads;
  }

  async downloadText(click: () => Promise<void>): Promise<{ name: string; text: string }> {
    const [d] = await this.downloads(1, click);
    return { name: d.suggestedFilename(), text: await readFile((await d.path())!, 'utf8') };
  }

  /**
   * Runs axe-core's WCAG 2.1 A/AA rules on the page as it is now. `summary` names the state,
   * each violated rule with its impact and help, and the first few offending elements with
   * axe's reason: as the message of `expect(check.violations.length, check.summary).toBe(0)`
   * it reads as a to-do list.
   */
  async axe(state: string): Promise<AxeCheck> {
    const { violations } = await new AxeBuilder({ page: this.page })
      // WCAG 2.5.3 Label in Name (level A): axe ships it as experimental, so off unless asked.
      // (options() replaces what withTags() set, so it comes first.)
      .options({ rules: { 'label-content-name-mismatch': { enabled: true } } })
      .withTags(WCAG21AA)
      .analyze();
    const lines = [`axe: ${violations.length} rule(s) violated in state "${state}"`];
    for (const v of violations) {
      lines.push(`- ${v.id} (${v.impact ?? 'n/a'}, ${v.nodes.length} element(s)): ${v.help}`);
      for (const node of v.nodes.slice(0, 5)) {
        const reason = node.failureSummary?.replace(/\s+/g, ' ').trim() ?? '';
        lines.push(`    ${node.target.join(' ')}: ${reason.slice(0, 300)}`);
      }
      if (v.nodes.length > 5) lines.push(`    … and ${v.nodes.length - 5} more`);
    }
    return { violations, summary: lines.join('\n') };
  }

  /**
   * Counts main-thread tasks over 50 ms from now on (Long Tasks API). `report` prints the count
   * and durations and attaches them to the test; it asserts nothing (a timing is a number to
   * read, not a pass/fail on a shared 2-core machine).
   */
  async watchLongTasks(): Promise<{ report(what: string): Promise<number[]> }> {
    await this.page.evaluate(() => {
      const w = window as unknown as {
        __longTasks: number[];
        __longTaskWatch?: PerformanceObserver;
      };
      // A second watch on the page replaces the first, which would count into its list too.
      w.__longTaskWatch?.disconnect();
      w.__longTasks = [];
      w.__longTaskWatch = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push(Math.round(e.duration));
      });
      w.__longTaskWatch.observe({ type: 'longtask' });
    });
    const started = Date.now();
    return {
      report: async (what) => {
        const tasks = await this.page.evaluate(
          () => (window as unknown as { __longTasks: number[] }).__longTasks,
        );
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const durations = tasks.length ? ` (${tasks.join(', ')} ms)` : '';
        const line = `${tasks.length} main-thread tasks over 50 ms in ${seconds} s of ${what}${durations}`;
        console.log(`[long tasks] ${line}`);
        test.info().annotations.push({ type: 'long tasks', description: line });
        return tasks;
      },
    };
  }
}

/** What `watchFrames` measured. */
export interface FrameStats {
  seconds: number;
  frames: number;
  fps: number;
  /** The longest time between two frames, ms: a stutter the mean frame rate hides. */
  longestGapMs: number;
}

/**
 * Counts the page's animation frames from now on (requestAnimationFrame) until `stop`: the frame
 * rate a user sees while the page works, and the longest gap between two frames.
 */
export async function watchFrames(page: Page): Promise<{ stop(): Promise<FrameStats> }> {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: { times: number[]; on: boolean } };
    w.__frames = { times: [], on: true };
    const tick = (t: number) => {
      if (!w.__frames.on) return;
      w.__frames.times.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  return {
    stop: () =>
      page.evaluate(() => {
        const w = window as unknown as { __frames: { times: number[]; on: boolean } };
        w.__frames.on = false;
        const t = w.__frames.times;
        const seconds = t.length > 1 ? (t[t.length - 1] - t[0]) / 1000 : 0;
        let longestGapMs = 0;
        for (let i = 1; i < t.length; i++) longestGapMs = Math.max(longestGapMs, t[i] - t[i - 1]);
        return {
          seconds: Number(seconds.toFixed(1)),
          frames: t.length,
          fps: seconds > 0 ? Number(((t.length - 1) / seconds).toFixed(1)) : 0,
          longestGapMs: Math.round(longestGapMs),
        };
      }),
  };
}

/**
 * Collects Content-Security-Policy violations of the page and its workers: Chromium's console
 * line for each ("Refused to … because it violates the following Content Security Policy
 * directive …") and, in the page, the `securitypolicyviolation` event, logged with its details.
 */
async function watchCsp(page: Page): Promise<string[]> {
  const violations: string[] = [];
  const watch = (m: ConsoleMessage) => {
    const text = m.text();
    if (/Content Security Policy|securitypolicyviolation/i.test(text)) violations.push(text);
  };
  page.on('console', watch);
  page.on('worker', (worker) => {
    worker.on('console', watch);
    // Chromium does not surface a worker's violation reports as console lines: listen in the
    // worker for its event. Only from when the worker is seen: a violation in its first moments
    // (a pthread worker's importScripts) can slip by, but then the run fails on its own.
    worker
      .evaluate(() =>
        self.addEventListener('securitypolicyviolation', (e) =>
          console.error(
            `securitypolicyviolation in a worker: ${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`,
          ),
        ),
      )
      .catch(() => undefined);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      console.error(
        `securitypolicyviolation: ${e.effectiveDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`,
      ),
    );
  });
  return violations;
}

export const test = base.extend<{ bench: Workbench }>({
  // Every spec's page runs under the built page's CSP; a violation is a bug, so it fails the test.
  bench: async ({ page }, use) => {
    const csp = await watchCsp(page);
    await use(new Workbench(page));
    expect(csp, `Content-Security-Policy violations:\n${csp.join('\n')}`).toEqual([]);
  },
});

export { expect };
