// NHWC uint8 images as canvas pixels: the image grids, and the single images of the embedding's
// tooltip and the gate heatmap.
import { memo, useEffect, useRef } from 'react';

export interface ImageBatch {
  width: number;
  height: number;
  channels: number;
  /** count·height·width·channels bytes. */
  pixels: Uint8Array;
}

/** Image `n` of the batch as RGBA (one channel is grey, a fourth is alpha), into `out`. */
export function fillImageData(
  batch: ImageBatch,
  n: number,
  out = new ImageData(batch.width, batch.height),
): ImageData {
  const { width, height, channels, pixels } = batch;
  const base = n * width * height * channels;
  const gray = channels < 3;
  for (let p = 0; p < width * height; p++) {
    const src = base + p * channels;
    out.data[p * 4] = pixels[src];
    out.data[p * 4 + 1] = pixels[gray ? src : src + 1];
    out.data[p * 4 + 2] = pixels[gray ? src : src + 2];
    out.data[p * 4 + 3] = channels === 4 ? pixels[src + 3] : 255;
  }
  return out;
}

/** One image of a batch, `scale` times its size, pixel for pixel. */
export const PixelImage = memo(function PixelImage({
  batch,
  index,
  scale,
  label,
}: {
  batch: ImageBatch;
  index: number;
  scale: number;
  label: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    canvas.current?.getContext('2d')?.putImageData(fillImageData(batch, index), 0, 0);
  }, [batch, index]);
  return (
    <canvas
      ref={canvas}
      className="pixel-image"
      width={batch.width}
      height={batch.height}
      style={{ width: batch.width * scale, height: batch.height * scale }}
      role="img"
      aria-label={label}
    />
  );
});
