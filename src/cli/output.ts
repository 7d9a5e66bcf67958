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

export function timingTable(timings: Record<string, number | undefined>, reused: string[] = []): string {
  const entries = Object.entries(timings);
  const total = entries.reduce((s, [, v]) => s + (v ?? 0), 0);
  const w = Math.max(10, ...entries.map(([k]) => k.length));
  const lines = entries.map(([k, v]) => `${k.padEnd(w)} ${(v ?? 0).toFixed(2).padStart(8)} s${reused.includes(k) ? '  (reused)' : ''}`);
  return [`${'Stage'.padEnd(w)} ${'Seconds'.padStart(10)}`, ...lines, `${'total'.padEnd(w)} ${total.toFixed(2).padStart(8)} s`].join('\n');
}

/** One live bar per stage on a terminal; one line per stage end (and per 25%) otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream, quiet: boolean): (e: ProgressEvent) => void {
  let lastStage = '';
  let lastQuarter = -1;
  return (e) => {
    if (quiet) return;
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 1;
    const eta = e.etaSeconds === null ? '' : ` eta ${e.etaSeconds.toFixed(0)}s`;
    const note = e.note ? ` ${e.note}` : '';
    if (stream.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      if (e.stage !== lastStage && lastStage) stream.write('\n');
      stream.write(`\r${e.stage.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.done}/${e.total}${eta}${note}\x1b[K`);
      lastStage = e.stage;
      return;
    }
    const quarter = Math.floor(frac * 4);
    if (e.stage !== lastStage) lastQuarter = -1;
    if (quarter !== lastQuarter) {
      stream.write(`${e.stage}: ${e.done}/${e.total}${eta}${note}\n`);
      lastQuarter = quarter;
    }
    lastStage = e.stage;
  };
}
