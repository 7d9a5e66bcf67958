/**
 * Extracts the axial slices that mri-demo synthesizes from: the Colin27 "ch2" T1 template of
 * Debian's mricron-data (BSD-3-clause) → public/data/ch2-slices.npy, uint8 (slices, 160, 160).
 *
 *   npx tsx scripts/extract-ch2-slices.ts [path/to/ch2.nii.gz]      (npm run data:mri)
 *
 * Slices are shown the radiological way: anterior at the top, the subject's right on the image's
 * left. Every slice is cropped to the same square (the union of the head's bounding boxes, plus a
 * margin) so anatomy keeps one scale across slices.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nifti from 'nifti-reader-js';
import { dump } from 'npyjs';
import { resizeSquare } from '../src/core/data/preprocess';

const SOURCE = process.argv[2] ?? '/usr/share/mricron/templates/ch2.nii.gz';
const COPYRIGHT = '/usr/share/doc/mricron-data/copyright';
const OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../public/data');
/** Stored side: a margin above the 128² default output so augmentation resamples, not upsamples. */
const SIDE = 160;
/** World z (mm, MNI) of the axial planes kept: from the midbrain up through the lateral ventricles. */
const Z_FROM = -10;
const Z_TO = 44;
const Z_STEP = 1;

interface Volume {
  dims: [number, number, number];
  voxels: Float32Array;
  /** 4×4 voxel → world (RAS mm). */
  affine: number[][];
}

function readNifti(path: string): Volume {
  const file = readFileSync(path);
  let buffer: ArrayBuffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  if (nifti.isCompressed(buffer)) buffer = nifti.decompress(buffer) as ArrayBuffer;
  if (!nifti.isNIFTI(buffer)) throw new Error(`${path} is not a NIfTI file`);
  const header = nifti.readHeader(buffer);
  if (!header) throw new Error(`${path}: unreadable NIfTI header`);
  const image = nifti.readImage(header, buffer);
  const [, nx, ny, nz] = header.dims;
  const n = nx * ny * nz;
  const view = new DataView(image);
  const le = header.littleEndian;
  const readers: Record<number, [number, (o: number) => number]> = {
    [nifti.NIFTI1.TYPE_UINT8]: [1, (o) => view.getUint8(o)],
    [nifti.NIFTI1.TYPE_INT8]: [1, (o) => view.getInt8(o)],
    [nifti.NIFTI1.TYPE_INT16]: [2, (o) => view.getInt16(o, le)],
    [nifti.NIFTI1.TYPE_UINT16]: [2, (o) => view.getUint16(o, le)],
    [nifti.NIFTI1.TYPE_INT32]: [4, (o) => view.getInt32(o, le)],
    [nifti.NIFTI1.TYPE_UINT32]: [4, (o) => view.getUint32(o, le)],
    [nifti.NIFTI1.TYPE_FLOAT32]: [4, (o) => view.getFloat32(o, le)],
    [nifti.NIFTI1.TYPE_FLOAT64]: [8, (o) => view.getFloat64(o, le)],
  };
  const reader = readers[header.datatypeCode];
  if (!reader) throw new Error(`${path}: NIfTI datatype ${header.datatypeCode} is not supported`);
  const [bytes, read] = reader;
  // NIfTI-1 §scl_slope: a slope of 0 means "no scaling".
  const slope = header.scl_slope || 1;
  const intercept = header.scl_slope ? header.scl_inter : 0;
  const voxels = new Float32Array(n);
  for (let i = 0; i < n; i++) voxels[i] = read(i * bytes) * slope + intercept;
  // sform when set (it is for ch2: MNI), else qform, else the voxel sizes alone (method 1).
  const affine = header.sform_code > 0
    ? header.affine
    : header.qform_code > 0
      ? header.getQformMat()
      : [[header.pixDims[1], 0, 0, 0], [0, header.pixDims[2], 0, 0], [0, 0, header.pixDims[3], 0], [0, 0, 0, 1]];
  return { dims: [nx, ny, nz], voxels, affine };
}

/** For world axis w (0 = x/right, 1 = y/anterior, 2 = z/superior): the voxel axis and its sign. */
function axisFor(affine: number[][], w: number): { axis: number; sign: number } {
  let axis = 0;
  for (let a = 1; a < 3; a++) if (Math.abs(affine[w][a]) > Math.abs(affine[w][axis])) axis = a;
  return { axis, sign: Math.sign(affine[w][axis]) };
}

function percentile(values: Float32Array, p: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function main(): void {
  const vol = readNifti(SOURCE);
  const ax = [axisFor(vol.affine, 0), axisFor(vol.affine, 1), axisFor(vol.affine, 2)];
  if (new Set(ax.map((a) => a.axis)).size !== 3) throw new Error('oblique orientation: voxel axes do not map to distinct world axes');
  const len = (w: number) => vol.dims[ax[w].axis];
  const [cols, rows, planes] = [len(0), len(1), len(2)];
  const stride = [1, vol.dims[0], vol.dims[0] * vol.dims[1]];
  // Voxel index along an axis for display position p: flip where the display runs against the axis.
  const voxelAt = (w: number, p: number, displayIncreasing: boolean) => {
    const forward = (ax[w].sign > 0) === displayIncreasing;
    return forward ? p : len(w) - 1 - p;
  };
  const worldZ = (k: number) => {
    const v = [0, 0, 0];
    v[ax[2].axis] = k;
    return vol.affine[2][0] * v[0] + vol.affine[2][1] * v[1] + vol.affine[2][2] * v[2] + vol.affine[2][3];
  };
  // Display: row 0 = most anterior (world y decreasing down), column 0 = subject's right (x decreasing).
  const slices: Float32Array[] = [];
  for (let k = 0; k < planes; k++) {
    const z = worldZ(k);
    const steps = (z - Z_FROM) / Z_STEP;
    // Keep the planes within half a millimetre of Z_FROM + m·Z_STEP.
    if (z < Z_FROM - 0.5 || z > Z_TO + 0.5 || Math.abs(steps - Math.round(steps)) * Z_STEP >= 0.5) continue;
    const img = new Float32Array(rows * cols);
    const kz = k * stride[ax[2].axis];
    for (let r = 0; r < rows; r++) {
      const ky = voxelAt(1, r, false) * stride[ax[1].axis];
      for (let c = 0; c < cols; c++) img[r * cols + c] = vol.voxels[kz + ky + voxelAt(0, c, false) * stride[ax[0].axis]];
    }
    slices.push(img);
  }
  if (slices.length === 0) throw new Error(`no axial plane of ${SOURCE} lies in z ∈ [${Z_FROM}, ${Z_TO}] mm`);
  // Intensity window: [0.5th percentile of everything, 99.5th percentile of head voxels].
  const all = new Float32Array(slices.length * rows * cols);
  slices.forEach((s, i) => all.set(s, i * rows * cols));
  const rough = percentile(all, 0.995);
  const head = all.filter((v) => v > 0.1 * rough);
  const lo = percentile(all, 0.005);
  const hi = percentile(head, 0.995);
  const headThreshold = lo + 0.1 * (hi - lo);
  // One square crop for all slices: the union of the head bounding boxes, squared, plus 8%.
  let [r0, r1, c0, c1] = [rows, -1, cols, -1];
  for (const s of slices) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (s[r * cols + c] <= headThreshold) continue;
        r0 = Math.min(r0, r); r1 = Math.max(r1, r); c0 = Math.min(c0, c); c1 = Math.max(c1, c);
      }
    }
  }
  const side = Math.ceil(Math.max(r1 - r0 + 1, c1 - c0 + 1) * 1.08);
  const top = Math.round((r0 + r1 + 1) / 2 - side / 2);
  const left = Math.round((c0 + c1 + 1) / 2 - side / 2);
  const out = new Uint8Array(slices.length * SIDE * SIDE);
  slices.forEach((s, i) => {
    const crop = new Float32Array(side * side);
    for (let r = 0; r < side; r++) {
      const sr = top + r;
      if (sr < 0 || sr >= rows) continue;
      for (let c = 0; c < side; c++) {
        const sc = left + c;
        if (sc >= 0 && sc < cols) crop[r * side + c] = (s[sr * cols + sc] - lo) / (hi - lo);
      }
    }
    const resized = resizeSquare(crop, side, side, SIDE);
    for (let p = 0; p < resized.length; p++) out[i * SIDE * SIDE + p] = Math.round(255 * Math.min(1, Math.max(0, resized[p])));
  });
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(resolve(OUT_DIR, 'ch2-slices.npy'), new Uint8Array(dump(out, [slices.length, SIDE, SIDE])));
  const notice = readFileSync(COPYRIGHT, 'utf8');
  writeFileSync(
    resolve(OUT_DIR, 'LICENSE-ch2.txt'),
    'public/data/ch2-slices.npy is derived from templates/ch2.nii.gz (the Colin27 "ch2" T1 template)\n' +
      "as shipped in Debian's mricron-data package. The package's copyright file follows, unchanged\n" +
      `(${COPYRIGHT}); the templates fall under its "Files: *" stanza (BSD-3-clause).\n\n` +
      '-----------------------------------------------------------------------------------------------\n\n' +
      notice,
  );
  console.log(
    `${slices.length} slices (z ${Z_FROM}…${Z_TO} mm) of ${cols}×${rows}×${planes}, crop ${side}² at row ${top}, col ${left} → ` +
      `${SIDE}², window [${lo.toFixed(1)}, ${hi.toFixed(1)}] → ${resolve(OUT_DIR, 'ch2-slices.npy')}`,
  );
}

main();
