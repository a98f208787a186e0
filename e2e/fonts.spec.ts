// FontWarmup lays out, while the page is idle, text in each font a run's view uses, so the view's
// first layout does not resolve fonts (which made it a long task). This checks that a run's view
// lays text out in no font the page had not used before the run (its own text and the
// specimens): a new style in a view without a specimen turns it red, naming the font.
import { expect, test, type RunSetup } from './workbench';

/** "family | size | weight | style" of every element in `root` holding text of its own. */
function fontsUnder(root: Element): string[] {
  const fonts = new Set<string>();
  for (const el of root.querySelectorAll('*')) {
    if (![...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim())) {
      continue;
    }
    const s = getComputedStyle(el);
    if (s.display === 'none') continue;
    fonts.add(`${s.fontFamily} | ${s.fontSize} | ${s.fontWeight} | ${s.fontStyle}`);
  }
  return [...fonts];
}

test("the idle font warm-up covers every font of a run's view", async ({ bench, page }) => {
  test.setTimeout(180_000);
  await bench.open();
  await expect(page.getByTestId('font-warmup')).toHaveAttribute('data-complete', 'true');
  // Resolved before any run: the page's own text and the specimens.
  const warmed = await page.locator('body').evaluate(fontsUnder);
  const runs: RunSetup[] = [
    { method: 'kd', steps: 40, testExamples: 200, params: { 'Eval every': 20 } },
    {
      method: 'dafl',
      steps: 10,
      testExamples: 200,
      params: { 'Generator width': 8, 'Batch size': 16, 'Eval every': 5 },
    },
  ];
  for (const setup of runs) {
    await bench.run({ teacher: 'lenet5-mnist', backend: 'wasm', ...setup });
    expect(await bench.waitForEnd()).toBe('done');
    const used = await bench.runView.evaluate(fontsUnder);
    expect(
      used.filter((f) => !warmed.includes(f)),
      `fonts of the ${setup.method} run view with no FontWarmup specimen`,
    ).toEqual([]);
  }
});
