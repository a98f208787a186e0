import { memo, useEffect, useRef } from 'react';
import type { ImagesEvent } from '../../state/runs';
import { describeImages } from './describe';
import { Figure } from './figure';
import { fillImageData } from './pixels';

/** Small images are drawn this many times larger, pixel for pixel. */
const SCALE = 2;
/** Room under each image for its caption. */
const LABEL_HEIGHT = 13;

/**
 * Draws a batch of NHWC uint8 images (samples, generator output) as a grid on one canvas, each
 * with its caption (the teacher's class and confidence, a count) under it.
 */
export const ImageGrid = memo(function ImageGrid({
  title,
  event,
  atStep = true,
}: {
  title: string;
  event: ImagesEvent;
  /** Say the step the images are from (not for images that are no run's step). */
  atStep?: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { width, height, channels, pixels, captions } = event;
  const count = Math.floor(pixels.length / (width * height * channels));
  const labelled = captions?.length === count;
  const cols = Math.min(count, count <= 10 ? 10 : Math.ceil(Math.sqrt(count * 1.5)));
  const rows = Math.ceil(count / cols);
  const gap = 2;
  const cellW = width * SCALE + gap;
  const cellH = height * SCALE + gap + (labelled ? LABEL_HEIGHT : 0);
  const text = describeImages(title);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    const image = new ImageData(width, height);
    // Each image is drawn at 1× on a scratch canvas, then scaled up without smoothing.
    const scratch = new OffscreenCanvas(width, height);
    const sctx = scratch.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#444';
    for (let n = 0; n < count; n++) {
      sctx.putImageData(fillImageData(event, n, image), 0, 0);
      const x = (n % cols) * cellW;
      const y = Math.floor(n / cols) * cellH;
      ctx.drawImage(scratch, x, y, width * SCALE, height * SCALE);
      if (labelled) ctx.fillText(captions[n], x + (width * SCALE) / 2, y + height * SCALE + 1);
    }
  }, [event, width, height, count, cols, cellW, cellH, labelled, captions]);

  return (
    <Figure
      className="chart images wide"
      title={text.title}
      note={`${text.caption ? `${text.caption} ` : ''}${count} images${atStep ? ` at step ${event.step}` : ''}.`}
      data-testid={`images-${title}`}
      data-count={count}
    >
      <canvas
        ref={canvas}
        width={cols * cellW}
        height={rows * cellH}
        role="img"
        aria-label={`${text.title}: ${captions?.join(', ') ?? `${count} images`}`}
      />
      {captions && !labelled && <p className="captions">{captions.join(' ')}</p>}
    </Figure>
  );
});
