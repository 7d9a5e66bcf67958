/** Plain-data types shared by stages and hosts (they cross the worker boundary as they are). */

/** n images of S×S pixels in [0,1], row-major, image after image. */
export interface ImageSet {
  pixels: Float32Array;
  labels: Int32Array;
  count: number;
  /** Optional per-image source name (file path or synthetic id). */
  names?: string[];
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface Dataset {
  name: string;
  classNames: string[];
  /** Side S of every image. */
  size: number;
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  skipped: SkippedFile[];
  /** Where the split came from: seeded stratified, or Training/ and Testing/ folders. */
  splitSource: 'stratified' | 'folders';
  /** mri-demo: ground-truth lesion masks (S×S, 0/1) for the test split, zero for normals. */
  testMasks?: Uint8Array;
}

export interface ComponentStats {
  index: number;
  auc: number;
  cohensD: number;
  pValue: number;
  /** Multi-class only: one-way ANOVA F-test p-value. */
  anovaP?: number;
  /** Aggregate rank, 1 = best. */
  rank: number;
  selected: boolean;
}

export interface Metrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  mcc: number;
  balancedAccuracy: number;
  rocAuc: number;
  brier: number;
  logLoss: number;
}

/** Progress of a long stage: the pipeline adds the stage name and the ETA. */
export type ProgressFn = (done: number, total: number, note?: string) => void;
