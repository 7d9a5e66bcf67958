/** Denoiser quality per test image: ‖x_t − x₀‖ against ‖x̂₀ − x₀‖, with the y = x diagonal. */
import { CartesianGrid, Legend, ReferenceDot, ReferenceLine, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { LabView } from '../../core/pipeline/view';
import { ChartCard } from './ChartCard';
import { NO_ANIMATION, fmt, fmtTick } from './format';
import './components.css';

export interface DenoiserScatterProps {
  view: LabView;
}

export function DenoiserScatter({ view }: DenoiserScatterProps) {
  const { noised, denoised } = view.denoiserErrors;
  const d = view.report.denoiser;
  const n = Math.min(noised.length, denoised.length);
  const points: { noised: number; denoised: number; index: number }[] = [];
  let max = 0;
  for (let i = 0; i < n; i++) {
    const x = noised[i];
    const y = denoised[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    points.push({ noised: x, denoised: y, index: i });
    max = Math.max(max, x, y);
  }
  // Same range on both axes so the diagonal is y = x: the largest error rounded up to a round tick.
  const step = max > 0 ? 10 ** Math.floor(Math.log10(max)) / 2 : 1;
  const top = max > 0 ? Math.ceil((max * 1.02) / step) * step : 1;
  const below = points.filter((p) => p.denoised < p.noised).length;
  const reverse = view.report.config.diffusion.reverseSteps;

  return (
    <div className="lab-section" data-testid="denoiser-scatter">
      <ChartCard
        title={`Denoiser at t = ${d.timestep} of T = ${d.steps} (ᾱ_t = ${fmt(d.alphaBar, 4)})`}
        subtitle={
          <>
            Per test image: distance of the noised features x_t and of the denoised x̂₀ ({reverse === 1 ? 'one-shot' : `${reverse} DDIM steps`}) from the clean x₀.
            Below the diagonal = the denoiser helped ({below} of {points.length}). Means: noised {fmt(d.meanNoisedError)}, denoised{' '}
            {fmt(d.meanDenoisedError)}.
          </>
        }
      >
        {points.length === 0 ? (
          <p className="lab-empty">No denoiser errors in this run.</p>
        ) : (
          <ScatterChart responsive style={{ width: '100%', maxWidth: 640, height: 360 }} margin={{ top: 8, right: 16, bottom: 20, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            <XAxis type="number" dataKey="noised" name="‖x_t − x₀‖" domain={[0, top]} tickFormatter={fmtTick} tick={{ fontSize: 11 }}
              label={{ value: '‖x_t − x₀‖ (noised)', position: 'insideBottom', offset: -12, style: { fontSize: 11, fill: '#475569' } }} />
            <YAxis type="number" dataKey="denoised" name="‖x̂₀ − x₀‖" domain={[0, top]} tickFormatter={fmtTick} tick={{ fontSize: 11 }} width={52}
              label={{ value: '‖x̂₀ − x₀‖ (denoised)', angle: -90, position: 'insideLeft', style: { fontSize: 11, fill: '#475569', textAnchor: 'middle' } }} />
            <Tooltip
              cursor={{ strokeDasharray: '3 3' }}
              content={({ active, payload }) => {
                const p = active && payload && payload[0] ? (payload[0].payload as { noised: number; denoised: number; index?: number }) : null;
                if (!p) return null;
                return (
                  <div className="card small" style={{ padding: '6px 10px' }}>
                    {p.index !== undefined ? <strong>test image {p.index}</strong> : <strong>mean</strong>}
                    <br />‖x_t − x₀‖ = {fmt(p.noised)}
                    <br />‖x̂₀ − x₀‖ = {fmt(p.denoised)}
                  </div>
                );
              }}
            />
            <Legend itemSorter={null} verticalAlign="top" wrapperStyle={{ fontSize: 12 }} />
            <ReferenceLine segment={[{ x: 0, y: 0 }, { x: top, y: top }]} stroke="#64748b" strokeDasharray="5 4" ifOverflow="hidden"
              label={{ value: 'y = x', position: 'insideTopLeft', fontSize: 11, fill: '#475569' }} />
            <Scatter name="test images" data={points} fill="#2563eb" fillOpacity={0.45} shape="circle" {...NO_ANIMATION} />
            {Number.isFinite(d.meanNoisedError) && Number.isFinite(d.meanDenoisedError) && (
              <ReferenceDot x={d.meanNoisedError} y={d.meanDenoisedError} r={7} fill="#dc2626" stroke="#fff" strokeWidth={2}
                ifOverflow="extendDomain" label={{ value: 'mean', position: 'right', fontSize: 11, fill: '#991b1b' }} />
            )}
          </ScatterChart>
        )}
      </ChartCard>
    </div>
  );
}
