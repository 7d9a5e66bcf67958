/** Training curves: NNMF loss, classifier and image-CNN histories, denoiser loss. */
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { LabView } from '../../core/pipeline/view';
import type { TrainHistory } from '../../core/models/train';
import { ChartCard } from './ChartCard';
import { NO_ANIMATION, finiteOrNull, fmt, fmtTick, tooltipValue } from './format';
import './components.css';

const CHART_STYLE = { width: '100%', height: 240 } as const;
const MARGIN = { top: 8, right: 16, bottom: 16, left: 4 };

function xLabel(value: string) {
  return { value, position: 'insideBottom' as const, offset: -8, style: { fontSize: 11, fill: '#475569' } };
}

function yLabel(value: string, right = false) {
  return { value, angle: right ? 90 : -90, position: right ? ('insideRight' as const) : ('insideLeft' as const), style: { fontSize: 11, fill: '#475569', textAnchor: 'middle' as const } };
}

function SeriesCard({ title, subtitle, data, x, y, name, color, testId }: {
  title: string; subtitle: string; data: { [k: string]: number | null }[]; x: string; y: string; name: string; color: string; testId: string;
}) {
  return (
    <ChartCard title={title} subtitle={subtitle} testId={testId}>
      {data.length === 0 ? (
        <p className="lab-empty">No values recorded (the stage may have been reused from the cache or skipped).</p>
      ) : (
        <LineChart data={data} responsive style={CHART_STYLE} margin={MARGIN}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey={x} type="number" domain={['dataMin', 'dataMax']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} label={xLabel(x)} />
          <YAxis domain={['auto', 'auto']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={56} label={yLabel(name)} />
          <Tooltip formatter={(v: unknown) => (typeof v === 'number' ? fmt(v, 5) : tooltipValue(v))} labelFormatter={(l: unknown) => `${x} ${String(l)}`} />
          <Line type="monotone" dataKey={y} name={name} stroke={color} dot={false} strokeWidth={1.8} {...NO_ANIMATION} />
        </LineChart>
      )}
    </ChartCard>
  );
}

function HistoryCard({ title, history, testId }: { title: string; history: TrainHistory; testId: string }) {
  const n = Math.max(history.loss.length, history.valLoss.length, history.valAccuracy.length);
  const data = Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    loss: finiteOrNull(history.loss[i]),
    valLoss: finiteOrNull(history.valLoss[i]),
    valAccuracy: finiteOrNull(history.valAccuracy[i]),
  }));
  const hasVal = history.valLoss.length > 0;
  const best = history.bestEpoch + 1;
  const bestAcc = history.valAccuracy[history.bestEpoch];
  return (
    <ChartCard
      title={title}
      subtitle={
        <>
          Cross-entropy per epoch (left axis){hasVal ? ', validation accuracy (right axis)' : ''}; {history.epochs} epochs run, weights of epoch {best} kept
          {hasVal && bestAcc !== undefined ? ` (validation accuracy ${fmt(bestAcc)})` : ''}.
        </>
      }
      testId={testId}
    >
      {n === 0 ? (
        <p className="lab-empty">No training history (the model may have been reused from the cache).</p>
      ) : (
        <LineChart data={data} responsive style={CHART_STYLE} margin={MARGIN}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="epoch" type="number" domain={[1, 'dataMax']} allowDecimals={false} tick={{ fontSize: 11 }} label={xLabel('epoch')} />
          <YAxis yAxisId="loss" domain={[0, 'auto']} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={48} label={yLabel('cross-entropy')} />
          {hasVal && <YAxis yAxisId="acc" orientation="right" domain={[0, 1]} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={44} label={yLabel('val. accuracy', true)} />}
          <Tooltip formatter={tooltipValue} labelFormatter={(l: unknown) => `epoch ${String(l)}`} />
          <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
          <ReferenceLine x={best} yAxisId="loss" stroke="#64748b" strokeDasharray="4 3" label={{ value: 'best', position: 'insideTopLeft', fontSize: 10.5, fill: '#475569' }} />
          <Line yAxisId="loss" type="monotone" dataKey="loss" name="training loss" stroke="#2563eb" dot={false} strokeWidth={1.8} {...NO_ANIMATION} />
          {hasVal && <Line yAxisId="loss" type="monotone" dataKey="valLoss" name="validation loss" stroke="#dc2626" dot={false} strokeWidth={1.8} {...NO_ANIMATION} />}
          {hasVal && <Line yAxisId="acc" type="monotone" dataKey="valAccuracy" name="validation accuracy" stroke="#16a34a" dot={false} strokeWidth={1.5} strokeDasharray="5 3" {...NO_ANIMATION} />}
        </LineChart>
      )}
    </ChartCard>
  );
}

export interface CurvesProps {
  view: LabView;
}

export function Curves({ view }: CurvesProps) {
  const { report } = view;
  const nmfData = report.nmf.loss.map((v, i) => ({ iteration: i + 1, loss: finiteOrNull(v) }));
  const denData = report.denoiser.loss.map((v, i) => ({ epoch: i + 1, loss: finiteOrNull(v) }));
  const objective = report.nmf.objective === 'kl' ? 'generalized KL divergence' : 'Frobenius loss';
  const classifierName = report.classifier.kind === 'hybrid' ? 'Hybrid CNN (image-CNN + NNMF features)' : 'Feature CNN (selected NNMF features)';
  return (
    <div className="lab-section" data-testid="curves">
      <div className="card-grid">
        <SeriesCard
          title="NNMF loss per iteration"
          subtitle={`${objective} of V ≈ WH, rank ${report.nmf.rank}; ${report.nmf.iterations} iterations, ${report.nmf.converged ? 'converged (tolerance reached)' : 'stopped at the iteration limit'}`}
          data={nmfData} x="iteration" y="loss" name="loss" color="#7c3aed" testId="curve-nmf"
        />
        <HistoryCard title={`${classifierName}: training`} history={report.classifier.history} testId="curve-classifier" />
        {report.imageCnn && <HistoryCard title="Image CNN (reference): training" history={report.imageCnn.history} testId="curve-image-cnn" />}
        <SeriesCard
          title="Denoiser loss"
          subtitle={`MSE of x̂₀ on noised training features, per epoch (T = ${report.denoiser.steps} diffusion steps)`}
          data={denData} x="epoch" y="loss" name="MSE" color="#d97706" testId="curve-denoiser"
        />
      </div>
    </div>
  );
}
