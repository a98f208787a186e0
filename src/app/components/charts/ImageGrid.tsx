import { memo, useEffect, useRef } from 'react';
import type { ImagesEvent } from '../../state/runs';
import { Figure } from './figure';

/** Draws a batch of NHWC uint8 images (samples, generator output) as a grid on one canvas. */
export const ImageGrid = memo(function ImageGrid({
  title,
  event,
}: {
  title: string;
  event: ImagesEvent;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { width, height, channels, pixels } = event;
  const count = Math.floor(pixels.length / (width * height * channels));
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const gap = 1;

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    const image = ctx.createImageData(width, height);
    for (let n = 0; n < count; n++) {
      const base = n * width * height * channels;
      for (let p = 0; p < width * height; p++) {
        const src = base + p * channels;
        const gray = channels < 3;
        image.data[p * 4] = pixels[src];
        image.data[p * 4 + 1] = pixels[gray ? src : src + 1];
        image.data[p * 4 + 2] = pixels[gray ? src : src + 2];
        image.data[p * 4 + 3] = channels === 4 ? pixels[src + 3] : 255;
      }
      ctx.putImageData(image, (n % cols) * (width + gap), Math.floor(n / cols) * (height + gap));
    }
  }, [pixels, width, height, channels, count, cols]);

  return (
    <Figure
      className="chart images"
      title={title}
      note={`${count} images @ step ${event.step}`}
      data-testid={`images-${title}`}
      data-count={count}
    >
      <canvas
        ref={canvas}
        width={cols * (width + gap)}
        height={rows * (height + gap)}
        role="img"
        aria-label={`${title}: ${event.captions?.join(', ') ?? `${count} images`}`}
      />
      {event.captions && <p className="captions">{event.captions.join(' ')}</p>}
    </Figure>
  );
});
