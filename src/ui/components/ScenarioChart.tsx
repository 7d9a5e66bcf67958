/**
 * The scenarios side by side: the nine metrics as grouped bars (the two "lower is better" ones in
 * their own chart), the papers' table, and for each robust figure the attack that produced it, in
 * words, with the robust accuracy after each attack, the adaptive PGD-EOT figure and the sanity flags.
 */
import { Bar, BarChart, CartesianGrid, Legend, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { LabView } from '../../core/pipeline/view';
import type { ScenarioReport } from '../../core/pipeline/report';
import type { AttackSettings, AttackStep } from '../../core/pipeline/robust';
import type { AttackSpec } from '../../core/attacks/ensemble';
import type { Metrics } from '../../core/types';
import { ChartCard } from './ChartCard';
import {
  HIGHER_IS_BETTER, LOWER_IS_BETTER, METRIC_LABELS, NO_ANIMATION, SCENARIO_COLORS, attackLabel, finiteOrNull, fmt, fmtPct,
  fmtSeconds, fmtTick, orderScenarios, scenarioLabel, tooltipValue,
} from './format';
import './components.css';

const MODEL_LABELS: Record<string, string> = {
  featureCnn: 'Feature CNN (NNMF)',
  hybridCnn: 'Hybrid CNN (image + NNMF)',
  imageCnn: 'Image CNN',
};

function defenseText(s: ScenarioReport): string {
  if (!s.purified) return 'none';
  const parts = [s.timestep !== undefined ? `t = ${s.timestep}` : null, s.eot !== undefined ? `K = ${s.eot} draws` : null,
    s.reverseSteps !== undefined ? (s.reverseSteps === 1 ? 'one-shot x̂₀' : `${s.reverseSteps} DDIM steps`) : null].filter(Boolean);
  return `diffusion purification${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function threatText(a: AttackSettings): string {
  return a.threat === 'feature'
    ? 'feature space: the L2-normalized selected NNMF feature vector, kept in the [0, 1] box (the papers\' protocol)'
    : 'image space: pixels in [0, 1]; gradients flow through the projection onto W, the normalization, the selection, the purifier and the CNN (end to end)';
}

function versionText(v: AttackSettings['version']): string {
  if (v === 'standard') return 'standard (APGD-CE, APGD-T, Square)';
  if (v === 'rand') return 'rand (APGD-CE, APGD-DLR with EOT 20)';
  return 'custom list';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function specText(s: AttackSpec): string {
  const parts: string[] = [];
  if (s.name === 'square') {
    if (s.queries !== undefined) parts.push(plural(s.queries, 'query', 'queries'));
  } else if (s.iterations !== undefined) {
    parts.push(plural(s.iterations, s.name === 'pgd-eot' ? 'step' : 'iteration'));
  }
  if (s.restarts !== undefined) parts.push(plural(s.restarts, 'restart'));
  if (s.targets !== undefined) parts.push(plural(s.targets, 'target class', 'target classes'));
  if (s.eot !== undefined) parts.push(s.eot > 1 ? `EOT ${s.eot} draws per gradient` : 'no EOT');
  return parts.join(', ');
}

function epsText(a: AttackSettings): string {
  return `${a.norm === 'Linf' ? 'L∞' : 'L2'} ε = ${a.eps}`;
}

function Flag({ text }: { text: string }) {
  const i = text.indexOf(': ');
  const code = i > 0 && i < 40 ? text.slice(0, i) : null;
  return (
    <li className="flag" data-testid="scenario-flag">
      <span aria-hidden="true">⚠ </span>
      {code ? (
        <>
          <strong>{code}</strong>: {text.slice(i + 2)}
        </>
      ) : (
        text
      )}
    </li>
  );
}

function StepsTable({ steps }: { steps: AttackStep[] }) {
  return (
    <table className="data-table">
      <caption>Robust accuracy after each attack (each runs on the points still robust)</caption>
      <thead>
        <tr>
          <th scope="col">attack</th>
          <th scope="col">robust accuracy</th>
          <th scope="col">seconds</th>
          <th scope="col" className="left">note</th>
        </tr>
      </thead>
      <tbody>
        {steps.map((s, i) => (
          <tr key={`${s.name}-${i}`} data-testid="attack-step">
            <td>{attackLabel(s.name)}</td>
            <td>{fmt(s.robustAccuracy)}</td>
            <td>{fmtSeconds(s.seconds)}</td>
            <td className="left">{s.skipped ? `skipped: ${s.skipped}` : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RobustSettings({ name, s, view }: { name: string; s: ScenarioReport; view: LabView }) {
  const a = s.attack;
  const isDefended = name === 'robustDefended';
  const adaptiveCfg = view.report.config.attack.adaptive;
  return (
    <ChartCard
      title={`${scenarioLabel(name)}: how this figure was measured`}
      subtitle={`${MODEL_LABELS[s.model] ?? s.model}; defense: ${defenseText(s)}`}
      exportable={false}
      testId={`scenario-settings-${name}`}
    >
      <div className="headline">
        <div className="figure">
          <span className="value">{fmt(s.robustAccuracy)}</span>
          <span className="what">robust accuracy (AutoAttack)</span>
        </div>
        <div className="figure">
          <span className="value">{fmt(s.cleanAccuracy)}</span>
          <span className="what">clean accuracy, same points</span>
        </div>
        {s.adaptive && (
          <div className="figure">
            <span className="value">{fmt(s.adaptive.robustAccuracy)}</span>
            <span className="what">robust accuracy (PGD-EOT)</span>
          </div>
        )}
        {s.outcomes && (
          <div className="figure">
            <span className="value small" style={{ fontSize: 14, paddingTop: 4 }}>
              <span className="badge held">{s.outcomes.held} held</span> <span className="badge fell">{s.outcomes.fell} fell</span>{' '}
              <span className="badge misclassified">{s.outcomes.misclassified} misclassified</span>
            </span>
            <span className="what">attacked test images</span>
          </div>
        )}
      </div>
      {a ? (
        <dl className="settings">
          <dt>threat model</dt>
          <dd>{threatText(a)}</dd>
          <dt>budget</dt>
          <dd>
            {epsText(a)}
            {s.maxPerturbation !== undefined ? ` (largest perturbation found: ${fmt(s.maxPerturbation, 4)})` : ''}
          </dd>
          <dt>AutoAttack version</dt>
          <dd>{versionText(a.version)}</dd>
          <dt>attacks</dt>
          <dd>
            <ul>
              {a.attacks.map((sp, i) => (
                <li key={`${sp.name}-${i}`}>
                  <strong>{attackLabel(sp.name)}</strong>
                  {specText(sp) ? `: ${specText(sp)}` : ''}
                </li>
              ))}
            </ul>
          </dd>
          <dt>EOT draws</dt>
          <dd>{a.eot > 1 ? `${a.eot} per gradient (randomized model)` : '1 (deterministic model)'}</dd>
          {a.draws !== undefined && (
            <>
              <dt>purification draws</dt>
              <dd>
                {plural(a.draws, 'draw')} inside each attacked forward pass
                {a.judgeDraws !== undefined ? `; the deployed defense (${plural(a.judgeDraws, 'draw')} averaged) judges which points fell` : ''}
              </dd>
            </>
          )}
          <dt>points attacked</dt>
          <dd>
            {a.points} test image{a.points === 1 ? '' : 's'} (the first {a.points} of {view.test.count})
          </dd>
          {a.notes.length > 0 && (
            <>
              <dt>notes</dt>
              <dd>
                <ul>
                  {a.notes.map((n, i) => (
                    <li key={i}>{n}</li>
                  ))}
                </ul>
              </dd>
            </>
          )}
        </dl>
      ) : (
        <p className="lab-empty">No attack settings recorded.</p>
      )}
      {s.robustAccuracyAfter && s.robustAccuracyAfter.length > 0 && <StepsTable steps={s.robustAccuracyAfter} />}
      {isDefended && (
        <p className="note" data-testid="adaptive-figure">
          {s.adaptive ? (
            <>
              <strong>Adaptive attack</strong> — {attackLabel(s.adaptive.name)} (Lee &amp; Kim 2023, full gradients through the purifier):{' '}
              {plural(s.adaptive.steps, 'step')}, EOT {s.adaptive.eot}, {plural(s.adaptive.draws, 'purification draw')} per pass → robust accuracy{' '}
              <strong>{fmt(s.adaptive.robustAccuracy)}</strong> ({fmtPct(s.adaptive.robustAccuracy)}) in {fmtSeconds(s.adaptive.seconds)}.
            </>
          ) : (
            <>Adaptive PGD-EOT: {adaptiveCfg.enabled ? 'no figure in this report' : 'not run (turned off in the attack settings)'}.</>
          )}
        </p>
      )}
      {s.flags && s.flags.length > 0 ? (
        <ul className="flags" aria-label="Sanity-check warnings">
          {s.flags.map((f, i) => (
            <Flag key={i} text={f} />
          ))}
        </ul>
      ) : (
        <p className="ok">✓ Sanity checks raised no flag.</p>
      )}
    </ChartCard>
  );
}

export interface ScenarioChartProps {
  view: LabView;
}

export function ScenarioChart({ view }: ScenarioChartProps) {
  const { scenarios } = view.report;
  const names = orderScenarios(Object.keys(scenarios));
  const row = (m: keyof Metrics) => {
    const r: Record<string, string | number | null> = { metric: METRIC_LABELS[m] };
    for (const n of names) r[n] = finiteOrNull(scenarios[n].metrics[m]);
    return r;
  };
  const higher = HIGHER_IS_BETTER.map(row);
  const lower = LOWER_IS_BETTER.map(row);
  const hasNegative = higher.some((r) => names.some((n) => typeof r[n] === 'number' && (r[n] as number) < 0));
  const robustNames = names.filter((n) => scenarios[n].attack || n.startsWith('robust'));
  const missingRoc = names.filter((n) => finiteOrNull(scenarios[n].metrics.rocAuc) === null);
  const threat = view.report.config.attack;

  const bars = names.map((n) => (
    <Bar key={n} dataKey={n} name={scenarioLabel(n)} fill={SCENARIO_COLORS[n] ?? '#64748b'} {...NO_ANIMATION} />
  ));

  return (
    <div className="lab-section" data-testid="scenario-chart">
      <ChartCard
        title="Scenarios: accuracy under each setting (the papers' table)"
        subtitle={
          robustNames.length > 0
            ? `Robust rows: AutoAttack, ${threat.threat} threat model, ${threat.norm === 'Linf' ? 'L∞' : 'L2'} ε = ${threat.eps}; the attacked points only.`
            : 'The attack was off for this run: clean scenarios only.'
        }
        exportable={false}
        testId="scenario-table"
      >
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">scenario</th>
              <th scope="col" className="left">model</th>
              <th scope="col" className="left">defense</th>
              <th scope="col">accuracy</th>
              <th scope="col">F1</th>
              <th scope="col">MCC</th>
              <th scope="col">ROC-AUC</th>
              <th scope="col">robust acc. (AutoAttack)</th>
              <th scope="col">clean acc. (attacked pts)</th>
            </tr>
          </thead>
          <tbody>
            {names.map((n) => {
              const s = scenarios[n];
              return (
                <tr key={n} data-testid={`scenario-row-${n}`}>
                  <th scope="row" className="left">
                    <span className="swatch" style={{ background: SCENARIO_COLORS[n] ?? '#64748b' }} aria-hidden="true" />
                    {scenarioLabel(n)}
                  </th>
                  <td className="left">{MODEL_LABELS[s.model] ?? s.model}</td>
                  <td className="left">{defenseText(s)}</td>
                  <td>
                    <strong>{fmt(s.metrics.accuracy)}</strong>
                  </td>
                  <td>{fmt(s.metrics.f1)}</td>
                  <td>{fmt(s.metrics.mcc)}</td>
                  <td>{fmt(finiteOrNull(s.metrics.rocAuc))}</td>
                  <td>{s.robustAccuracy !== undefined ? <strong>{fmt(s.robustAccuracy)}</strong> : ''}</td>
                  <td>{s.cleanAccuracy !== undefined ? fmt(s.cleanAccuracy) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {names.some((n) => scenarios[n].robustAccuracy !== undefined) && (
          <p className="note">
            Robust rows: <em>robust acc.</em> is AutoAttack's figure (a point counts as broken once any attack broke it);
            <em> accuracy</em> and the other metrics re-score the final adversarial inputs once with the deployed model, which for
            the randomized defense is a fresh purification draw and so can read higher.
          </p>
        )}
        {missingRoc.length > 0 && <p className="note">ROC-AUC is undefined (—) where only one class is present.</p>}
      </ChartCard>

      <div className="card-grid" style={{ gridTemplateColumns: 'minmax(0, 3fr) minmax(260px, 1.2fr)' }}>
        <ChartCard title="Metrics per scenario (higher is better)" subtitle="Binary: on the positive class; multi-class: macro averages. MCC ranges over [−1, 1]." testId="scenario-metrics">
          <BarChart data={higher} responsive style={{ width: '100%', height: 300 }} margin={{ top: 8, right: 12, bottom: 4, left: 0 }} barCategoryGap="18%">
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
            <XAxis dataKey="metric" tick={{ fontSize: 11 }} interval={0} />
            <YAxis domain={[hasNegative ? -1 : 0, 1]} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={40} />
            {hasNegative && <ReferenceLine y={0} stroke="#94a3b8" />}
            <Tooltip formatter={tooltipValue} cursor={{ fill: 'rgba(148, 163, 184, 0.15)' }} />
            <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
            {bars}
          </BarChart>
        </ChartCard>
        <ChartCard title="Brier score and log-loss (lower is better)" subtitle="Calibration of the predicted probabilities." testId="scenario-losses">
          <BarChart data={lower} responsive style={{ width: '100%', height: 300 }} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
            <XAxis dataKey="metric" tick={{ fontSize: 11 }} />
            <YAxis domain={[0, 'auto']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={40} />
            <Tooltip formatter={tooltipValue} cursor={{ fill: 'rgba(148, 163, 184, 0.15)' }} />
            <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
            {bars}
          </BarChart>
        </ChartCard>
      </div>

      <ChartCard title="All nine metrics" subtitle="Brier and log-loss: lower is better; the others: higher is better." exportable={false} testId="scenario-metrics-table">
        <table className="data-table">
          <thead>
            <tr>
              <th scope="col">scenario</th>
              {[...HIGHER_IS_BETTER, ...LOWER_IS_BETTER].map((m) => (
                <th key={m} scope="col">
                  {METRIC_LABELS[m]}
                  {LOWER_IS_BETTER.includes(m) ? ' ↓' : ''}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {names.map((n) => (
              <tr key={n}>
                <th scope="row" className="left">{scenarioLabel(n)}</th>
                {[...HIGHER_IS_BETTER, ...LOWER_IS_BETTER].map((m) => (
                  <td key={m}>{fmt(finiteOrNull(scenarios[n].metrics[m]))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </ChartCard>

      {robustNames.length > 0 && (
        <div className="settings-grid">
          {robustNames.map((n) => (
            <RobustSettings key={n} name={n} s={scenarios[n]} view={view} />
          ))}
        </div>
      )}
    </div>
  );
}
