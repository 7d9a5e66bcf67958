/**
 * Per attacked test image: which held, which fell and to what, and what the image, its features
 * and the class probabilities looked like at every stage (clean → adversarial → noised → purified).
 */
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { LabView, RobustView, TraceView } from '../../core/pipeline/view';
import { ChartCard } from './ChartCard';
import { FloatImage, GrayImage } from './GrayImage';
import { NO_ANIMATION, STAGE_COLORS, attackLabel, finiteOrNull, fmt, fmtTick, scenarioLabel, tooltipValue } from './format';
import './components.css';

type ScenarioKey = 'robustBaseline' | 'robustDefended';
type Filter = 'all' | 'held' | 'fell' | 'misclassified' | 'fixed';

const FILTER_LABELS: Record<Filter, string> = {
  all: 'all',
  held: 'held',
  fell: 'fell',
  misclassified: 'misclassified',
  fixed: 'fixed by purification',
};

const STAGE_LABELS = { clean: 'clean', adversarial: 'adversarial', noised: 'noised (x_t)', purified: 'purified (x̂₀)' } as const;
type Stage = keyof typeof STAGE_LABELS;

/** Feature vectors longer than this are drawn as lines rather than grouped bars. */
const MAX_BARS = 32;

function className(view: LabView, label: number): string {
  return view.classNames[label] ?? `class ${label}`;
}

function StatusBadge({ status }: { status: TraceView['status'] }) {
  return <span className={`badge ${status}`}>{status}</span>;
}

function predicted(p: number[] | undefined): number {
  if (!p || p.length === 0) return -1;
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
  return best;
}

function FeatureChart({ trace, stages }: { trace: TraceView; stages: Stage[] }) {
  const f = trace.features;
  const dim = f.clean.length;
  const data = Array.from({ length: dim }, (_, i) => {
    const r: Record<string, number | null> = { feature: i };
    for (const s of stages) r[s] = finiteOrNull(f[s][i]);
    return r;
  });
  const common = (
    <>
      <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
      <XAxis dataKey="feature" tick={{ fontSize: 10.5 }} interval={dim > MAX_BARS ? 'preserveStartEnd' : 0}
        label={{ value: 'feature (classifier input)', position: 'insideBottom', offset: -10, style: { fontSize: 11, fill: '#475569' } }} />
      <YAxis tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={44} />
      <Tooltip formatter={tooltipValue} labelFormatter={(l: unknown) => `feature ${String(l)}`} />
      <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
    </>
  );
  const style = { width: '100%', height: 240 };
  const margin = { top: 4, right: 12, bottom: 16, left: 0 };
  return dim > MAX_BARS ? (
    <LineChart data={data} responsive style={style} margin={margin}>
      {common}
      {stages.map((s) => (
        <Line key={s} type="linear" dataKey={s} name={STAGE_LABELS[s]} stroke={STAGE_COLORS[s]} dot={false} strokeWidth={1.4} {...NO_ANIMATION} />
      ))}
    </LineChart>
  ) : (
    <BarChart data={data} responsive style={style} margin={margin} barCategoryGap="15%">
      {common}
      {stages.map((s) => (
        <Bar key={s} dataKey={s} name={STAGE_LABELS[s]} fill={STAGE_COLORS[s]} {...NO_ANIMATION} />
      ))}
    </BarChart>
  );
}

function FeaturePerturbation({ trace }: { trace: TraceView }) {
  const { clean, adversarial } = trace.features;
  const data = Array.from({ length: clean.length }, (_, i) => ({ feature: i, delta: finiteOrNull(adversarial[i] - clean[i]) }));
  return (
    <BarChart data={data} responsive style={{ width: '100%', height: 200 }} margin={{ top: 4, right: 12, bottom: 16, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
      <XAxis dataKey="feature" tick={{ fontSize: 10.5 }} interval={clean.length > MAX_BARS ? 'preserveStartEnd' : 0}
        label={{ value: 'feature', position: 'insideBottom', offset: -10, style: { fontSize: 11, fill: '#475569' } }} />
      <YAxis tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={48} />
      <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v, 4) : tooltipValue(v))} labelFormatter={(l: unknown) => `feature ${String(l)}`} />
      <Bar dataKey="delta" name="adversarial − clean" fill="#dc2626" {...NO_ANIMATION} />
    </BarChart>
  );
}

function ProbabilityChart({ view, trace }: { view: LabView; trace: TraceView }) {
  const stages = (['clean', 'adversarial', 'noised', 'purified'] as Stage[]).filter((s) => trace.probs[s] !== undefined);
  const data = view.classNames.map((c, k) => {
    const r: Record<string, string | number | null> = { cls: c };
    for (const s of stages) r[s] = finiteOrNull(trace.probs[s]?.[k]);
    return r;
  });
  return (
    <>
      <BarChart data={data} responsive style={{ width: '100%', height: 220 }} margin={{ top: 4, right: 12, bottom: 4, left: 0 }} barCategoryGap="20%">
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
        <XAxis dataKey="cls" tick={{ fontSize: 11 }} interval={0} />
        <YAxis domain={[0, 1]} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={36} />
        <Tooltip formatter={tooltipValue} />
        <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
        {stages.map((s) => (
          <Bar key={s} dataKey={s} name={STAGE_LABELS[s]} fill={STAGE_COLORS[s]} {...NO_ANIMATION} />
        ))}
      </BarChart>
      <table className="data-table">
        <caption className="sr-only">Class probabilities at each stage</caption>
        <thead>
          <tr>
            <th scope="col">stage</th>
            {view.classNames.map((c) => (
              <th key={c} scope="col">{c}</th>
            ))}
            <th scope="col">predicted</th>
          </tr>
        </thead>
        <tbody>
          {stages.map((s) => {
            const p = trace.probs[s];
            const k = predicted(p);
            return (
              <tr key={s}>
                <th scope="row" className="left">
                  <span className="swatch" style={{ background: STAGE_COLORS[s] }} aria-hidden="true" />
                  {STAGE_LABELS[s]}
                </th>
                {view.classNames.map((c, i) => (
                  <td key={c} style={i === k ? { fontWeight: 700 } : undefined}>{fmt(p?.[i])}</td>
                ))}
                <td>{k >= 0 ? className(view, k) : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function LossChart({ trace }: { trace: TraceView }) {
  if (trace.loss.length === 0) {
    return (
      <p className="lab-empty">
        {trace.status === 'misclassified' ? 'Misclassified before any attack: no attack ran on this image.' : 'No loss recorded for this image.'}
      </p>
    );
  }
  const data = trace.loss.map((v, i) => ({ iteration: i + 1, loss: finiteOrNull(v) }));
  return (
    <LineChart data={data} responsive style={{ width: '100%', height: 200 }} margin={{ top: 4, right: 12, bottom: 16, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
      <XAxis dataKey="iteration" type="number" domain={[1, 'dataMax']} allowDecimals={false} tick={{ fontSize: 11 }}
        label={{ value: 'iteration', position: 'insideBottom', offset: -10, style: { fontSize: 11, fill: '#475569' } }} />
      <YAxis domain={['auto', 'auto']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={52} />
      <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v, 4) : tooltipValue(v))} labelFormatter={(l: unknown) => `iteration ${String(l)}`} />
      <Line type="monotone" dataKey="loss" name={`${attackLabel(trace.lossAttack)} loss`} stroke="#dc2626" dot={false} strokeWidth={1.6} {...NO_ANIMATION} />
    </LineChart>
  );
}

function TraceDetail({ view, rv, trace, position }: { view: LabView; rv: RobustView; trace: TraceView; position: number }) {
  const settings = view.report.scenarios[rv.scenario]?.attack;
  const norm = settings?.norm === 'L2' ? 'L2' : 'L∞';
  const adv = rv.adversarialImages;
  const hasAdvImage = adv !== null && position >= 0 && position < adv.count;
  const size = view.test.size;
  let delta: Float32Array | null = null;
  if (hasAdvImage && adv) {
    const px = size * size;
    delta = new Float32Array(px);
    for (let i = 0; i < px; i++) delta[i] = (adv.pixels[position * px + i] - view.test.pixels[trace.index * px + i]) / 255;
  }
  const defended = rv.scenario === 'robustDefended';
  const featureStages: Stage[] = defended ? ['clean', 'adversarial', 'noised', 'purified'] : ['clean', 'adversarial'];
  const name = view.test.names?.[trace.index];

  return (
    <div className="trace-detail" data-testid="trace-detail" aria-live="polite">
      <div>
        <h4>
          Test image {trace.index} · true class {className(view, trace.label)} · <StatusBadge status={trace.status} />
          {trace.brokenBy && <> broken by {attackLabel(trace.brokenBy)}</>}
        </h4>
        <p className="note" style={{ marginTop: 0 }}>
          Perturbation size ({norm}): {fmt(trace.perturbation, 4)}
          {settings ? ` of ε = ${settings.eps}` : ''} · {settings?.threat === 'image' ? 'image' : 'feature'} threat model
          {name ? <> · <span className="muted">{name}</span></> : null}
        </p>
      </div>
      <div className="image-row">
        <GrayImage images={view.test} index={trace.index} label="clean test image" testId="trace-clean-image" />
        <GrayImage images={view.reconstructions} index={trace.index} label="NNMF reconstruction W·h" testId="trace-reconstruction" />
        {hasAdvImage && adv && delta && (
          <>
            <GrayImage images={adv} index={position} label="adversarial image" testId="trace-adversarial-image" />
            <FloatImage values={delta} size={size} label="perturbation (amplified)" testId="trace-perturbation-image" />
          </>
        )}
      </div>
      {!hasAdvImage && (
        <div>
          <h4>Feature perturbation: adversarial − clean features</h4>
          <FeaturePerturbation trace={trace} />
        </div>
      )}
      <div>
        <h4>Classifier input at each stage</h4>
        <FeatureChart trace={trace} stages={featureStages} />
        {defended && <p className="note">Noised and purified features: one purification draw of the adversarial features (the deployed defense averages {view.report.scenarios.robustDefended?.eot ?? 'K'} draws).</p>}
      </div>
      <div>
        <h4>Class probabilities</h4>
        <ProbabilityChart view={view} trace={trace} />
      </div>
      <div>
        <h4>Attack loss per iteration{trace.lossAttack ? ` (${attackLabel(trace.lossAttack)})` : ''}</h4>
        <LossChart trace={trace} />
      </div>
    </div>
  );
}

export interface TracesProps {
  view: LabView;
}

export function Traces({ view }: TracesProps) {
  const [scenario, setScenario] = useState<ScenarioKey>('robustDefended');
  const [filter, setFilter] = useState<Filter>('all');
  const [picked, setPicked] = useState<number | null>(null);

  if (!view.robust) {
    return (
      <div className="lab-section" data-testid="trace-panel">
        <ChartCard title="Per-image attack traces" exportable={false}>
          <p className="lab-empty">The attack was off for this run: there are no robust scenarios and no per-image traces. Turn the attack on and run again.</p>
        </ChartCard>
      </div>
    );
  }

  const rv = scenario === 'robustBaseline' ? view.robust.baseline : view.robust.defended;
  const baseline = new Map(view.robust.baseline.traces.map((t) => [t.index, t]));
  const defended = new Map(view.robust.defended.traces.map((t) => [t.index, t]));
  const isFixed = (index: number) => baseline.get(index)?.status === 'fell' && defended.get(index)?.status === 'held';
  const counts: Record<Filter, number> = { all: rv.traces.length, held: 0, fell: 0, misclassified: 0, fixed: 0 };
  for (const t of rv.traces) {
    counts[t.status] += 1;
    if (isFixed(t.index)) counts.fixed += 1;
  }
  const shown = rv.traces.filter((t) => (filter === 'all' ? true : filter === 'fixed' ? isFixed(t.index) : t.status === filter));
  const current = shown.find((t) => t.index === picked) ?? shown[0] ?? null;
  const position = current ? rv.traces.indexOf(current) : -1;

  return (
    <div className="lab-section" data-testid="trace-panel">
      <ChartCard
        title="Per-image attack traces"
        subtitle={`${scenarioLabel(scenario)}: ${rv.traces.length} attacked test images. “Fixed by purification” = fell in the robust baseline but held in the robust defended scenario.`}
        exportable={false}
      >
        <div className="trace-controls">
          <label>
            scenario
            <select value={scenario} onChange={(e) => setScenario(e.target.value as ScenarioKey)} data-testid="trace-scenario">
              <option value="robustBaseline">{scenarioLabel('robustBaseline')}</option>
              <option value="robustDefended">{scenarioLabel('robustDefended')}</option>
            </select>
          </label>
          <label>
            show
            <select value={filter} onChange={(e) => setFilter(e.target.value as Filter)} data-testid="trace-filter">
              {(Object.keys(FILTER_LABELS) as Filter[]).map((f) => (
                <option key={f} value={f}>
                  {FILTER_LABELS[f]} ({counts[f]})
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="trace-layout">
          {shown.length === 0 ? (
            <p className="lab-empty">No image matches “{FILTER_LABELS[filter]}” in this scenario.</p>
          ) : (
            <ul className="trace-list" aria-label="Attacked test images">
              {shown.map((t) => {
                const active = current !== null && t.index === current.index;
                return (
                  <li key={t.index} className={active ? 'active' : undefined} data-testid="trace-item" data-index={t.index} data-status={t.status}>
                    <button type="button" onClick={() => setPicked(t.index)} aria-pressed={active}
                      aria-label={`test image ${t.index}, ${className(view, t.label)}, ${t.status}${t.brokenBy ? `, broken by ${attackLabel(t.brokenBy)}` : ''}`}>
                      <span>#{t.index}</span>
                      <span>
                        {className(view, t.label)}
                        {t.brokenBy && <span className="by"> · {attackLabel(t.brokenBy)}</span>}
                      </span>
                      <StatusBadge status={t.status} />
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {current ? (
            <TraceDetail view={view} rv={rv} trace={current} position={position} />
          ) : (
            <p className="lab-empty">Pick an image.</p>
          )}
        </div>
      </ChartCard>
    </div>
  );
}
