// Bringing a model to the page: a TF.js Layers teacher trained on raw pixels (its preprocessing
// detected), an ONNX teacher, a few-shot folder and zip of PNGs, a Cross Distillation run of the
// upload on them, the student downloaded as TF.js and ONNX and uploaded back as a teacher; and
// bad files, dropped or picked.
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { unzipSync, zipSync } from 'fflate';
import type { Page } from '@playwright/test';
import { makeOnnxFixtures } from '../scripts/make-onnx-fixtures';
import { loadDataset } from '../src/core/data';
import { expect, test } from './workbench';

const RAW_LENET = 'src/core/io/fixtures/tfjs-raw-lenet5';
const SHOTS = '/tmp/shots';

let onnxDir: string;

test.beforeAll(async () => {
  onnxDir = await mkdtemp(join(tmpdir(), 'clab-upload-'));
  for (const [name, bytes] of await makeOnnxFixtures()) {
    if (name.startsWith('lenet5')) await writeFile(join(onnxDir, name), bytes);
  }
  await mkdir(SHOTS, { recursive: true });
});

function uploadTeacher(page: Page, files: string[]) {
  return page.getByLabel('Upload teacher files').setInputFiles(files);
}

/**
 * A few-shot folder: `perClass` MNIST training digits of each class as PNGs in `<dir>/<class>/`,
 * encoded by the page's canvas.
 */
async function writeShots(page: Page, dir: string, perClass: number): Promise<void> {
  const train = await loadDataset('mnist', 'train');
  const size = train.height * train.width;
  const picked: { label: number; pixels: number[] }[] = [];
  for (let i = 0; picked.length < 10 * perClass; i++) {
    const label = train.labels[i];
    if (picked.filter((p) => p.label === label).length >= perClass) continue;
    picked.push({ label, pixels: [...train.pixels.subarray(i * size, (i + 1) * size)] });
  }
  const pngs = await page.evaluate(
    ([images, w, h]) =>
      Promise.all(
        images.map(async ({ pixels }) => {
          const canvas = new OffscreenCanvas(w, h);
          const ctx = canvas.getContext('2d')!;
          const data = ctx.createImageData(w, h);
          pixels.forEach((v, k) => data.data.set([v, v, v, 255], 4 * k));
          ctx.putImageData(data, 0, 0);
          const bytes = new Uint8Array(await (await canvas.convertToBlob()).arrayBuffer());
          return btoa(String.fromCharCode(...bytes));
        }),
      ),
    [picked, train.width, train.height] as const,
  );
  for (const [i, { label }] of picked.entries()) {
    await mkdir(join(dir, String(label)), { recursive: true });
    await writeFile(join(dir, String(label), `${i}.png`), Buffer.from(pngs[i], 'base64'));
  }
}

/** The accuracy the teacher view shows, as a fraction. */
async function shownAccuracy(page: Page): Promise<number> {
  const text = await page.getByTestId('teacher-accuracy').textContent();
  return Number(/([\d.]+)%/.exec(text ?? '')![1]) / 100;
}

test('TF.js and ONNX teachers and a few-shot folder upload; detect, distil, download, re-import', async ({
  bench,
  page,
}) => {
  test.setTimeout(240_000);
  await bench.open();
  await bench.configure({ backend: 'wasm', dataset: 'mnist' });

  // The raw-pixel LeNet-5 reads as [0, 1] inputs until detection says otherwise.
  const files = (await readdir(RAW_LENET)).map((f) => join(RAW_LENET, f));
  await uploadTeacher(page, files);
  const view = page.getByTestId('teacher-view');
  await expect(view).toBeVisible({ timeout: 60_000 });
  const summary = page.getByTestId('teacher-summary');
  await expect(summary).toContainText('32×32×1');
  await expect(summary).toContainText('classes10');
  expect(await shownAccuracy(page)).toBeLessThan(0.5);

  await page.getByRole('button', { name: 'Detect preprocessing' }).click();
  const table = page.getByTestId('detection-table');
  await expect(table).toBeVisible({ timeout: 60_000 });
  await expect(table.locator('tr.chosen td').first()).toHaveText(/^raw/);
  await expect(page.getByTestId('teacher-preprocessing')).toContainText('raw');
  expect(await shownAccuracy(page)).toBeGreaterThan(0.97);
  await page.screenshot({ path: `${SHOTS}/upload-detection.png`, fullPage: true });

  // The upload is the run's teacher, with the detected preprocessing; its few-shot data a folder
  // of PNGs, one sub-folder per class (and the same as a zip).
  await expect(bench.combobox('Teacher')).toHaveValue(/^upload:/);
  const shots = join(onnxDir, 'digits');
  await writeShots(page, shots, 5);
  const zipped = zipSync(
    Object.fromEntries(
      await Promise.all(
        (await readdir(shots, { recursive: true }))
          .filter((f) => f.endsWith('.png'))
          .map(async (f) => [`digits/${f}`, new Uint8Array(await readFile(join(shots, f)))]),
      ),
    ),
  );
  await page.getByLabel('Upload image zip').setInputFiles({
    name: 'digits.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(zipped),
  });
  await expect(bench.combobox('Few-shot data')).toHaveValue(/^images:/);
  await page.getByLabel('Upload image folder').setInputFiles(shots);
  await expect(bench.combobox('Few-shot data').locator('option')).toHaveCount(3);
  await expect(page.getByText('Classes 0 (5), 1 (5)')).toBeVisible();
  await page.getByRole('complementary', { name: 'Configuration' }).screenshot({
    path: `${SHOTS}/upload-shots.png`,
  });
  await bench.run({
    method: 'cross-distillation',
    steps: 30,
    testExamples: 500,
    params: { 'Iters per layer': 30, 'Fine tune steps': 5 },
  });
  expect(await bench.waitForEnd(150_000)).toBe('done');
  // Without a labelled test set the run measures agreement with the teacher, and says so.
  await expect(page.getByTestId('agreement-note')).toBeVisible();
  await expect(page.getByTestId('result')).toContainText('student agreement with teacher');

  const [zip] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Student as TF.js (.zip)' }).click(),
  );
  const zipPath = join(onnxDir, zip.suggestedFilename());
  await zip.saveAs(zipPath);
  const entries = unzipSync(new Uint8Array(await readFile(zipPath)));
  const modelJson = JSON.parse(new TextDecoder().decode(entries['model.json'])) as tf.io.ModelJSON;
  const { paths, weights } = modelJson.weightsManifest[0];
  // TF.js itself reads the zip's files.
  const shard = entries[paths[0]];
  const loaded = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: weights,
      weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength),
    }),
  );
  expect(loaded.outputs[0].shape).toEqual([null, 10]);
  loaded.dispose();

  const [onnx] = await bench.downloads(1, () =>
    page.getByRole('button', { name: 'Student as ONNX' }).click(),
  );
  const onnxPath = join(onnxDir, onnx.suggestedFilename());
  await onnx.saveAs(onnxPath);
  const report = await bench.downloadText(() =>
    page.getByRole('button', { name: 'Run report' }).click(),
  );
  const parsed = JSON.parse(report.text) as { config: { method: string }; layers: unknown[] };
  expect(parsed.config.method).toBe('cross-distillation');
  expect(parsed.layers.length).toBeGreaterThan(0);

  // Both downloads come back as teachers that predict alike (the preprocessing travels along),
  // first checked on the run's uploaded images, which are chosen now.
  await uploadTeacher(page, [zipPath]);
  await expect(view).toContainText('uploaded TF.js Layers teacher', { timeout: 60_000 });
  await expect(summary).toContainText('accuracy on digits');
  const fromZip = await shownAccuracy(page);
  await uploadTeacher(page, [onnxPath]);
  await expect(view).toContainText('uploaded ONNX teacher', { timeout: 60_000 });
  expect(Math.abs((await shownAccuracy(page)) - fromZip)).toBeLessThan(0.01);

  // An ONNX file written in tf2onnx's layout (NHWC input, batch 1, normalisation as Sub/Div).
  await uploadTeacher(page, [join(onnxDir, 'lenet5-mnist-nhwc.onnx')]);
  await expect(view).toContainText('lenet5-mnist-nhwc', { timeout: 60_000 });
  expect(await shownAccuracy(page)).toBeGreaterThan(0.97);

  // Measured, and its preprocessing detected, on the uploaded images (mnist, fashion, then the
  // zip's and the folder's digits).
  await bench.combobox('Check on').selectOption({ index: 3 });
  await page.getByRole('button', { name: 'Detect preprocessing' }).click();
  await expect(page.getByTestId('teacher-accuracy')).toContainText(
    'on 50 uploaded images (digits), labelled by their folders',
    { timeout: 60_000 },
  );
  await expect(page.getByTestId('detection-table')).toContainText('on 50 labelled images');
  expect(await shownAccuracy(page)).toBeGreaterThan(0.9);
  await page.screenshot({ path: `${SHOTS}/upload-detection-images.png`, fullPage: true });

  // After a reload the uploads are still there, beside the run: teachers and images.
  await page.reload();
  await expect(bench.runItems).toHaveCount(1);
  await expect(bench.combobox('Teacher').locator('option', { hasText: 'uploaded' })).toHaveCount(4);
  await expect(bench.combobox('Few-shot data').locator('option')).toHaveCount(3);
  await bench.combobox('Few-shot data').selectOption({ index: 1 });
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: 'Delete images' }).click();
  await expect(bench.combobox('Few-shot data').locator('option')).toHaveCount(2);
  await expect(bench.combobox('Few-shot data')).toHaveValue('');
});

/** Drops one file made in the page (its bytes never cross from the test) onto the page. */
async function dropInPage(page: Page, name: string, content: { text: string } | { zeros: number }) {
  const dataTransfer = await page.evaluateHandle(
    ({ name, content }) => {
      const dt = new DataTransfer();
      dt.items.add(
        new File(['text' in content ? content.text : new ArrayBuffer(content.zeros)], name),
      );
      return dt;
    },
    { name, content },
  );
  await page.locator('.app').dispatchEvent('dragover', { dataTransfer });
  await page.locator('.app').dispatchEvent('drop', { dataTransfer });
}

test('bad model and image files say what is wrong and what to do; the page goes on', async ({
  bench,
  page,
}) => {
  await bench.open();
  const notice = page.getByTestId('notice');
  const upload = (files: { name: string; buffer: Buffer }[]) =>
    page
      .getByLabel('Upload teacher files')
      .setInputFiles(files.map((f) => ({ ...f, mimeType: 'application/octet-stream' })));

  await dropInPage(page, 'notes.txt', { text: 'just some notes' });
  // The first import waits for the worker's backend: with 'auto', each backend worth it is timed first.
  await expect(notice).toContainText("None of 'notes.txt' is a model file", { timeout: 60_000 });
  await expect(notice).toContainText('Upload a TF.js model.json (Layers or graph model)');
  await page.screenshot({ path: `${SHOTS}/upload-error.png` });

  // Over the cap: refused by its size before a byte is read.
  await dropInPage(page, 'huge.onnx', { zeros: 300 * 2 ** 20 });
  await expect(notice).toContainText('uploads are capped at 256 MiB');

  const json = await readFile(join(RAW_LENET, 'model.json'), 'utf8');
  const shard = await readFile(join(RAW_LENET, 'group1-shard1of1.bin'));
  await upload([{ name: 'model.json', buffer: Buffer.from(json.slice(0, 200)) }]);
  await expect(notice).toContainText('model.json is not valid JSON');

  await upload([
    { name: 'model.json', buffer: Buffer.from(json) },
    { name: 'group1-shard1of1.bin', buffer: shard.subarray(0, 64) },
  ]);
  await expect(notice).toContainText(/expected \d+ bytes, found 64/);
  await expect(notice).toContainText('A shard is truncated or missing');

  const lambda = json.replace('"class_name": "Flatten"', '"class_name": "Lambda"');
  expect(lambda).not.toBe(json);
  await upload([
    { name: 'model.json', buffer: Buffer.from(lambda) },
    { name: 'group1-shard1of1.bin', buffer: shard },
  ]);
  await expect(notice).toContainText('no code from a model file is ever run');

  // The first weight is float16 in this file: 0x7e00 is NaN.
  const nan = Buffer.from(shard);
  nan.writeUInt16LE(0x7e00, 0);
  await upload([
    { name: 'model.json', buffer: Buffer.from(json) },
    { name: 'group1-shard1of1.bin', buffer: nan },
  ]);
  await expect(notice).toContainText("Weight 'conv2d/kernel' contains NaN or infinite values");

  // Images: a zip without class folders, and a file that is no image inside one.
  const uploadImages = (name: string, files: Record<string, string | Buffer>) =>
    page.getByLabel('Upload image zip').setInputFiles({
      name,
      mimeType: 'application/zip',
      buffer: Buffer.from(
        zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]))),
      ),
    });
  await uploadImages('flat.zip', { 'a.png': 'x', 'b.png': 'y' });
  await expect(notice).toContainText('No images in class folders were found');
  await expect(notice).toContainText('one sub-folder per class');
  await uploadImages('broken.zip', { 'd/0/a.png': 'not a png', 'd/1/b.png': 'nor this' });
  await expect(notice).toContainText("'d/0/a.png' is not a readable image");
  // A PNG header that claims 30000×30000 pixels is refused before any decoder sees it.
  const huge = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 13]).copy(huge);
  huge.write('IHDR', 12, 'latin1');
  huge.writeUInt32BE(30000, 16);
  huge.writeUInt32BE(30000, 20);
  await uploadImages('huge.zip', { 'd/0/a.png': huge, 'd/1/b.png': huge });
  await expect(notice).toContainText("'d/0/a.png' is 30000×30000 pixels, over the 48 million");

  await expect(bench.runItems).toHaveCount(0);
  await bench.run({ backend: 'wasm', steps: 5, testExamples: 200 });
  expect(await bench.waitForEnd()).toBe('done');
});
