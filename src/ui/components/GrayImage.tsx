/**
 * Gray images on a <canvas>, drawn pixel for pixel (putImageData) and scaled by CSS with
 * image-rendering: pixelated. `FloatImage` draws a signed Float32Array image with a diverging
 * colormap symmetric around 0 (for amplified perturbations).
 */
import { useEffect, useRef, type ReactNode, type Ref } from 'react';
import type { GrayImages } from '../../core/pipeline/view';
import './components.css';

export type Colormap = 'gray' | 'diverging';

/** Blue (−1) → white (0) → red (+1), as RGB 0–255. */
export function divergingColor(v: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  const [r, g, b] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const a = Math.abs(t);
  return [Math.round(255 + (r - 255) * a), Math.round(255 + (g - 255) * a), Math.round(255 + (b - 255) * a)];
}

/** Default on-screen scale: about 112 CSS pixels across, never below 1. */
function defaultScale(size: number): number {
  return Math.max(1, Math.round(112 / Math.max(1, size)));
}

function useCanvasImage(size: number, fill: (data: Uint8ClampedArray) => boolean, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || size <= 0) return;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(size, size);
    if (fill(img.data)) ctx.putImageData(img, 0, 0);
    else ctx.clearRect(0, 0, size, size);
  }, deps);
  return ref;
}

export interface GrayImageProps {
  images: GrayImages;
  index: number;
  /** CSS pixels per image pixel (default: about 112 px across). */
  scale?: number;
  /** Caption under the image and its accessible name. */
  label?: string;
  /** data-testid of the canvas. */
  testId?: string;
  /** 'gray' (default), or 'diverging': 0–255 mapped symmetrically around 127.5. */
  colormap?: Colormap;
}

export function GrayImage({ images, index, scale, label, testId, colormap = 'gray' }: GrayImageProps) {
  const { size, count, pixels } = images;
  const valid = Number.isInteger(index) && index >= 0 && index < count && pixels.length >= (index + 1) * size * size;
  const ref = useCanvasImage(size, (data) => {
    if (!valid) return false;
    const px = size * size;
    const off = index * px;
    for (let i = 0; i < px; i++) {
      const v = pixels[off + i];
      const o = 4 * i;
      if (colormap === 'diverging') {
        const [r, g, b] = divergingColor((v - 127.5) / 127.5);
        data[o] = r;
        data[o + 1] = g;
        data[o + 2] = b;
      } else {
        data[o] = v;
        data[o + 1] = v;
        data[o + 2] = v;
      }
      data[o + 3] = 255;
    }
    return true;
  }, [images, index, colormap, valid, size]);
  const name = label ?? `image ${index}`;
  return (
    <PixelCanvas canvasRef={ref} size={size} scale={scale} testId={testId} ariaLabel={valid ? name : `${name} (not available)`}>
      {label && <figcaption>{label}</figcaption>}
    </PixelCanvas>
  );
}

/** A size×size canvas drawn pixelated at `scale`, in a figure with whatever follows it. */
function PixelCanvas(props: { canvasRef: Ref<HTMLCanvasElement>; size: number; scale?: number; testId?: string; ariaLabel: string; children?: ReactNode }) {
  const { canvasRef, size, scale, testId, ariaLabel, children } = props;
  const px = size * (scale ?? defaultScale(size));
  return (
    <figure className="gray-image">
      <canvas ref={canvasRef} width={size} height={size} role="img" aria-label={ariaLabel} data-testid={testId} className="pixelated" style={{ width: px, height: px }} />
      {children}
    </figure>
  );
}

export interface FloatImageProps {
  /** size×size signed values, row-major. */
  values: Float32Array;
  size: number;
  scale?: number;
  label?: string;
  testId?: string;
  /** Value drawn at full color; default max |v| of the image (i.e. amplified to the full range). */
  maxAbs?: number;
  /** Show the color scale under the image (default true). */
  showScale?: boolean;
}

export function FloatImage({ values, size, scale, label, testId, maxAbs, showScale = true }: FloatImageProps) {
  let m = maxAbs ?? 0;
  if (maxAbs === undefined) for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]) || 0);
  const valid = size > 0 && values.length >= size * size;
  const ref = useCanvasImage(size, (data) => {
    if (!valid) return false;
    for (let i = 0; i < size * size; i++) {
      const [r, g, b] = divergingColor(m > 0 ? values[i] / m : 0);
      const o = 4 * i;
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
      data[o + 3] = 255;
    }
    return true;
  }, [values, size, m, valid]);
  const name = label ?? 'signed image';
  const px = size * (scale ?? defaultScale(size));
  return (
    <PixelCanvas canvasRef={ref} size={size} scale={scale} testId={testId} ariaLabel={`${name}, blue negative, red positive, full color at ±${m.toPrecision(3)}`}>
      {showScale && (
        <div className="diverging-scale" aria-hidden="true" style={{ width: px }}>
          <span>−{m.toPrecision(2)}</span>
          <span>0</span>
          <span>+{m.toPrecision(2)}</span>
        </div>
      )}
      {label && <figcaption>{label}</figcaption>}
    </PixelCanvas>
  );
}
