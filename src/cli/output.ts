/** What the CLI prints: progress bars on stderr, the metric table on stdout. */
import type { ProgressEvent } from '../core/pipeline/progress';
import type { LabReport } from '../core/pipeline/report';
import type { Metrics } from '../core/types';

const METRICS: [keyof Metrics, string][] = [
  ['accuracy', 'Acc'], ['precision', 'Prec'], ['recall', 'Rec'], ['f1', 'F1'], ['mcc', 'MCC'],
  ['balancedAccuracy', 'BalAcc'], ['rocAuc', 'ROC-AUC'], ['brier', 'Brier'], ['logLoss', 'LogLoss'],
];

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4);
}

export function metricTable(report: LabReport): string {
  const rows = Object.entries(report.scenarios);
  const nameWidth = Math.max(8, ...rows.map(([n]) => n.length));
  const head = ['Scenario'.padEnd(nameWidth), ...METRICS.map(([, h]) => h.padStart(8))].join(' ');
  const lines = rows.map(([name, s]) => [name.padEnd(nameWidth), ...METRICS.map(([k]) => fmt(s.metrics[k]).padStart(8))].join(' '));
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

/**
 * The papers' four-scenario table (clean/robust × baseline/defended) with the attack under the
 * robust rows: every robust figure names its threat model, attacks, norm, ε and EOT.
 */
export function attackSummary(report: LabReport): string {
  const out: string[] = [];
  for (const name of ['robustBaseline', 'robustDefended'] as const) {
    const s = report.scenarios[name];
    if (!s?.attack) continue;
    const a = s.attack;
    const list = a.attacks.map((x) => `${x.name}${x.restarts ? ` r${x.restarts}` : ''}${x.iterations ? ` ${x.iterations}it` : ''}${x.queries ? ` ${x.queries}q` : ''}${x.targets ? ` ${x.targets}t` : ''}`).join(' + ');
    out.push(`${name}: ${a.threat} threat, ${a.norm} ε=${a.eps}, ${a.version} [${list}], EOT ${a.eot}` +
      (a.draws ? `, ${a.draws} purification draw(s) per attacked pass, judged by the deployed K=${a.judgeDraws}` : '') + `, ${a.points} test images`);
    out.push(`  robust accuracy after each attack: ${(s.robustAccuracyAfter ?? []).map((x) => `${x.name} ${x.skipped ? 'skipped' : fmt(x.robustAccuracy)} (${x.seconds.toFixed(1)} s)`).join(', ')}`);
    if (s.adaptive) out.push(`  adaptive ${s.adaptive.name} (${s.adaptive.steps} steps, EOT ${s.adaptive.eot}): robust accuracy ${fmt(s.adaptive.robustAccuracy)} (${s.adaptive.seconds.toFixed(1)} s)`);
    for (const note of a.notes) out.push(`  note: ${note}`);
    for (const flag of s.flags ?? []) out.push(`  check: ${flag}`);
  }
  return out.join('\n');
}

/**
 * Seconds per stage and a total. A stage that ran on the second thread shows its own seconds,
 * marked. Given the run's wall-clock seconds, the total is those: the sum of the main line's
 * stages misses the time it waited for a second-thread stage that took longer than the stages
 * beside it (the digits image CNN: 49 s beside 27 s of NMF and projection). Without it, the total
 * is that sum, second-thread stages left out.
 */
export function timingTable(
  timings: Record<string, number | undefined>, reused: string[] = [], beside: string[] = [], wallSeconds?: number,
): string {
  const entries = Object.entries(timings);
  const total = wallSeconds ?? entries.reduce((s, [k, v]) => s + (beside.includes(k) ? 0 : (v ?? 0)), 0);
  const w = Math.max(10, ...entries.map(([k]) => k.length));
  const mark = (k: string) => (reused.includes(k) ? '  (reused)' : beside.includes(k) ? '  (second thread, overlapped)' : '');
  const lines = entries.map(([k, v]) => `${k.padEnd(w)} ${(v ?? 0).toFixed(2).padStart(8)} s${mark(k)}`);
  const totalLine = `${'total'.padEnd(w)} ${total.toFixed(2).padStart(8)} s${wallSeconds === undefined ? '' : '  (wall clock)'}`;
  return [`${'Stage'.padEnd(w)} ${'Seconds'.padStart(10)}`, ...lines, totalLine].join('\n');
}

/**
 * One live bar per stage on a terminal; one line per stage end (and per 25%) otherwise. A stage on
 * the second thread (event.beside) rides along on the main stage's line instead of taking it over.
 */
export function progressPrinter(stream: NodeJS.WriteStream, quiet: boolean): (e: ProgressEvent) => void {
  let lastStage = '';
  let lastMain: ProgressEvent | null = null;
  let side = '';
  const lastQuarter = new Map<string, number>();
  const describe = (e: ProgressEvent) => {
    const eta = e.etaSeconds === null ? '' : ` eta ${e.etaSeconds.toFixed(0)}s`;
    return `${e.done}/${e.total}${eta}${e.note ? ` ${e.note}` : ''}`;
  };
  const fraction = (e: ProgressEvent) => (e.total > 0 ? Math.min(1, e.done / e.total) : 1);
  const drawBar = (e: ProgressEvent) => {
    const width = 24;
    const filled = Math.round(fraction(e) * width);
    stream.write(`\r${e.stage.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(e)}${side}\x1b[K`);
  };
  return (e) => {
    if (quiet) return;
    if (stream.isTTY) {
      if (e.beside) {
        side = fraction(e) >= 1 ? '' : `  · ${e.stage} ${e.done}/${e.total} (second thread)`;
        if (lastMain) drawBar(lastMain);
        return;
      }
      if (e.stage !== lastStage && lastStage) stream.write('\n');
      drawBar(e);
      lastStage = e.stage;
      lastMain = e;
      return;
    }
    // A stage entered anew (a later run in the same process) reports from its start again.
    if (!e.beside && e.stage !== lastStage) lastQuarter.delete(e.stage);
    if (!e.beside) lastStage = e.stage;
    const quarter = Math.floor(fraction(e) * 4);
    const key = e.beside ? `${e.stage} (second thread)` : e.stage;
    if (quarter !== (lastQuarter.get(key) ?? -1)) {
      stream.write(`${key}: ${describe(e)}\n`);
      lastQuarter.set(key, quarter);
    }
  };
}
