/** Progress events of the pipeline: which stage, how far, and an ETA from the stage's own pace. */

export type StageName =
  | 'load' | 'nmf' | 'project' | 'select' | 'imageCnn' | 'features' | 'classify' | 'denoiser' | 'evaluate' | 'attackBaseline' | 'attackDefended';

export interface ProgressEvent {
  stage: StageName;
  done: number;
  total: number;
  /** Seconds left at the stage's average pace so far; null until one step is done. */
  etaSeconds: number | null;
  note?: string;
  /** Set for a stage running on the second thread while the main line reports its own stage. */
  beside?: boolean;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Wraps a listener with per-stage timing so each stage only reports (done, total). */
export function stageProgress(stage: StageName, listener: ProgressListener | undefined, now: () => number = () => performance.now()) {
  const started = now();
  return (done: number, total: number, note?: string): void => {
    if (!listener) return;
    const elapsed = (now() - started) / 1000;
    const etaSeconds = done > 0 && total > 0 ? (elapsed / done) * Math.max(0, total - done) : null;
    listener({ stage, done, total, etaSeconds, note });
  };
}

/** Raised when a run is cancelled through its AbortSignal. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const err = new Error('run cancelled');
    err.name = 'AbortError';
    throw err;
  }
}
