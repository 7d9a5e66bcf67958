/**
 * How large an image file may be, shared by the Node reader (sharp) and the browser's decoder
 * (createImageBitmap), so both hosts accept and refuse the same files with the same words.
 *
 * Every image ends up S×S with S ≤ 512, so nothing is gained by holding a large image at full size:
 * both hosts decode (or shrink right after decoding) to at most `decodeBound(S)` on a side, which
 * keeps the per-image buffers small however large the file is. A file is only refused when its
 * header claims a size no scan or photo has: sharp refuses above 268 MP by default and a browser
 * decodes the whole image before resizing it (a 200 MP image briefly holds 800 MB of RGBA in the
 * tab), so the hard limit sits below both, and a crafted header (e.g. a 100 kB PNG that claims
 * 100,000 × 100,000) is answered "too large" from its header without decoding anything.
 */

/** Refused above this many pixels on a side (whole-slide scans and panoramas are not this lab's input). */
export const MAX_IMAGE_SIDE = 20_000;
/** Refused above this many pixels in all (a 10,000 × 10,000 image, 100 MP, is accepted). */
export const MAX_IMAGE_PIXELS = 200_000_000;

/** Longest side an image is decoded at before the final S×S resample: 4× oversampling for the
 * box filter, and never below 512 so small S keep some detail for the shrink. */
export function decodeBound(size: number): number {
  return Math.max(512, 4 * size);
}

const megapixels = (n: number) => `${Math.round(n / 1e5) / 10} megapixels`;

/** Why an image of width×height pixels is refused ("too large: …", "no pixels: …"), or null. */
export function imageSizeProblem(width: number, height: number): string | null {
  if (!Number.isFinite(width) || !Number.isFinite(height) || width < 1 || height < 1) {
    return `no pixels: the header says ${width}×${height}`;
  }
  const pixels = width * height;
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || pixels > MAX_IMAGE_PIXELS) {
    return (
      `too large: ${width}×${height} pixels (${megapixels(pixels)}); the limit is ${MAX_IMAGE_SIDE} pixels ` +
      `per side and ${megapixels(MAX_IMAGE_PIXELS)}`
    );
  }
  return null;
}

/**
 * The size to decode a width×height image at: unchanged when it fits `bound` on both sides, else
 * shrunk (aspect kept, at least 1 pixel) so that its longest side is `bound`.
 */
export function decodeSize(width: number, height: number, bound: number): { width: number; height: number } {
  const scale = Math.min(1, bound / Math.max(width, height));
  if (scale === 1) return { width, height };
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** What a header says (image-size's answer: EXIF orientation 1–8 for JPEG). */
export interface HeaderSize {
  width: number;
  height: number;
  orientation?: number;
}

/**
 * The browser's decode plan from the header, before anything is decoded: refuse (the reason), or
 * decode at `width`×`height` (the shown orientation: EXIF orientations 5–8 turn the image a
 * quarter, and createImageBitmap's resize applies to the turned image), shrunk to decodeBound(size)
 * like sharp's `fit: 'inside'` does in Node. `resize` is false when the image already fits.
 */
export function planDecode(header: HeaderSize, size: number): { reason: string } | { width: number; height: number; resize: boolean } {
  const problem = imageSizeProblem(header.width, header.height);
  if (problem) return { reason: problem };
  const turned = header.orientation !== undefined && header.orientation >= 5 && header.orientation <= 8;
  const [w, h] = turned ? [header.height, header.width] : [header.width, header.height];
  const target = decodeSize(w, h, decodeBound(size));
  return { ...target, resize: target.width !== w || target.height !== h };
}
