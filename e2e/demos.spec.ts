// The demo gallery and presenter mode: a class's view of a ready demo at projector size.
import { expect, test } from './workbench';

test('a demo from the gallery runs in presenter mode at 1280×720; the gallery passes axe', async ({
  bench,
  page,
}) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  await bench.open();
  await page.getByRole('button', { name: 'Demos', exact: true }).click();
  const gallery = page.getByTestId('demo-gallery');
  await expect(gallery.getByTestId('demo')).toHaveCount(5);
  // Each formula is MathML (no inline styles, which the page's CSP would block).
  await expect(gallery.locator('.formula math')).toHaveCount(5);
  await page.screenshot({ path: '/tmp/shots/demo-gallery.png' });
  for (const theme of ['light', 'dark'] as const) {
    await bench.setTheme(theme);
    const check = await bench.axe(`demo gallery, ${theme}`);
    expect.soft(check.violations.length, check.summary).toBe(0);
  }
  await bench.setTheme('light');

  // "Open in the form" fills the form and hides what the demo fixes.
  const card = gallery.getByTestId('demo').filter({ hasText: 'one image per class' });
  await card.getByRole('button', { name: 'Open in the form' }).click();
  await expect(gallery).toBeHidden();
  await expect(bench.combobox('Method')).toHaveValue('cross-distillation');
  await expect(bench.combobox('Teacher')).toHaveCount(0);

  // Presenter mode: only the middle; the demo runs from the gallery.
  await page.getByRole('button', { name: 'Presenter mode' }).click();
  await expect(page.getByRole('complementary', { name: 'Configuration' })).toBeHidden();
  await expect(page.getByRole('navigation', { name: 'Runs' })).toBeHidden();
  await page.getByRole('button', { name: 'Demos', exact: true }).click();
  await card.getByRole('button', { name: 'Run this demo' }).click();
  // The demo's first fitted layer draws the estimation error; the rest of its 600 steps would
  // take minutes on a busy 2-core CI machine and show nothing new about presenter mode.
  await expect(page.getByTestId('estimation-error')).toBeVisible({ timeout: 90_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  expect(await bench.waitForEnd()).toBe('stopped');
  const check = await bench.axe('presenter mode, a demo run');
  expect.soft(check.violations.length, check.summary).toBe(0);
  await page.screenshot({ path: '/tmp/shots/presenter-demo.png' });
  await page.getByRole('button', { name: 'Presenter mode' }).click();
  await expect(page.getByRole('navigation', { name: 'Runs' })).toBeVisible();
});
