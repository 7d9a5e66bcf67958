/** The lab's knobs. Changing one marks the results stale; Run recomputes only the stages it touches. */
import { useMemo, type ReactNode } from 'react';
import type { LabConfig } from '../../core/config';
import { linearSchedule } from '../../core/diffusion/schedule';
import { useLab, useLabClient } from '../hooks/useLab';
import { isStale } from '../store';

const ATTACKS = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'square'] as const;

function Slider(props: { label: string; value: number; min: number; max: number; step?: number; testId: string; onChange: (v: number) => void; hint?: ReactNode; disabled?: boolean }) {
  const { label, value, min, max, step = 1, testId, onChange, hint, disabled } = props;
  return (
    <label className="slider">
      <span className="slider-label">{label} <output>{value}</output>{hint && <span className="muted small"> {hint}</span>}</span>
      <input type="range" min={min} max={max} step={step} value={value} disabled={disabled} data-testid={testId} aria-label={label}
        onChange={(e) => onChange(Number(e.target.value))} />
    </label>
  );
}

export function Controls() {
  const client = useLabClient();
  const config = useLab((s) => s.config);
  const status = useLab((s) => s.status);
  const engineReady = useLab((s) => s.engine.status === 'ready');
  const stale = useLab(isStale);
  const hasView = useLab((s) => s.view !== null);
  const set = (update: (c: LabConfig) => LabConfig) => client.setConfig(update);
  const { nmf, select, diffusion, attack } = config;
  const topAuto = select.top === 'auto';
  const running = status !== 'idle';
  // What t means depends on T and the β ends: the slider says the noise it adds, √(1−ᾱ_t).
  const alphaBar = useMemo(() => linearSchedule(diffusion.steps, diffusion.betaStart, diffusion.betaEnd).alphaBar,
    [diffusion.steps, diffusion.betaStart, diffusion.betaEnd]);
  const noise = Math.sqrt(1 - alphaBar[Math.min(diffusion.timestep, diffusion.steps - 1)]);

  return (
    <section className="card controls" aria-label="Controls">
      <h2>Settings</h2>
      <Slider label="rank" value={nmf.rank} min={2} max={60} testId="rank-slider"
        hint="NNMF components" onChange={(rank) => set((c) => ({
          ...c, nmf: { ...c.nmf, rank },
          select: { ...c.select, top: c.select.top === 'auto' ? 'auto' : Math.min(c.select.top, rank), minSelected: Math.min(c.select.minSelected, rank) },
        }))} />
      <div className="field">
        <label><input type="checkbox" checked={topAuto} onChange={(e) => set((c) => ({ ...c, select: { ...c.select, top: e.target.checked ? 'auto' : Math.min(c.nmf.rank, 8) } }))} />
          {' '}top-M automatic (p &lt; {select.alpha}, at least {select.minSelected})</label>
        {!topAuto && (
          <Slider label="top-M" value={select.top as number} min={1} max={nmf.rank} testId="top-slider"
            onChange={(top) => set((c) => ({ ...c, select: { ...c.select, top } }))} />
        )}
      </div>
      <Slider label="timestep t" value={diffusion.timestep} min={1} max={diffusion.steps - 1} testId="timestep-slider"
        hint={`of T = ${diffusion.steps}, noise √(1−ᾱ) = ${noise.toFixed(3)}`} onChange={(timestep) => set((c) => ({ ...c, diffusion: { ...c.diffusion, timestep } }))} />
      <Slider label="EOT draws K" value={diffusion.eot} min={1} max={32} testId="eot-slider"
        onChange={(eot) => set((c) => ({ ...c, diffusion: { ...c.diffusion, eot } }))} />

      <h3>Attack</h3>
      <label><input type="checkbox" checked={attack.enabled} data-testid="attack-enabled"
        onChange={(e) => set((c) => ({ ...c, attack: { ...c.attack, enabled: e.target.checked } }))} /> evaluate under attack</label>
      <fieldset disabled={!attack.enabled}>
        <Slider label="ε" value={attack.eps} min={0.01} max={0.3} step={0.01} testId="eps-slider" hint={attack.norm}
          onChange={(eps) => set((c) => ({ ...c, attack: { ...c.attack, eps } }))} />
        <label>version{' '}
          <select value={attack.version} onChange={(e) => set((c) => ({ ...c, attack: { ...c.attack, version: e.target.value as LabConfig['attack']['version'] } }))}>
            <option value="custom">custom (the attacks below)</option>
            <option value="standard">standard (APGD-CE, APGD-T, Square)</option>
            <option value="rand">rand (APGD-CE, APGD-DLR, EOT 20)</option>
          </select>
        </label>
        {attack.version === 'custom' && (
          <div className="attacks">
            {ATTACKS.map((a) => (
              <label key={a}><input type="checkbox" checked={attack.attacks.includes(a)}
                onChange={(e) => set((c) => {
                  const on = new Set(c.attack.attacks);
                  if (e.target.checked) on.add(a);
                  else if (on.size > 1) on.delete(a);
                  return { ...c, attack: { ...c.attack, attacks: ATTACKS.filter((x) => on.has(x)) } };
                })} /> {a}</label>
            ))}
          </div>
        )}
        <label>threat model{' '}
          <select value={attack.threat} data-testid="threat-select" onChange={(e) => set((c) => ({ ...c, attack: { ...c.attack, threat: e.target.value as LabConfig['attack']['threat'] } }))}>
            <option value="feature">feature (the papers': perturb the NNMF features)</option>
            <option value="image">image (perturb pixels, end to end)</option>
          </select>
        </label>
        <Slider label="attack EOT" value={attack.eot} min={1} max={32} testId="attack-eot-slider" hint="draws per gradient on the defended model"
          onChange={(eot) => set((c) => ({ ...c, attack: { ...c.attack, eot } }))} />
        <label><input type="checkbox" checked={attack.adaptive.enabled}
          onChange={(e) => set((c) => ({ ...c, attack: { ...c.attack, adaptive: { ...c.attack.adaptive, enabled: e.target.checked } } }))} />
          {' '}adaptive PGD-EOT ({attack.adaptive.steps} steps, EOT {attack.adaptive.eot})</label>
        <label>test images attacked{' '}
          <input type="number" min={0} value={attack.limit} className="narrow" aria-label="test images attacked (0 = all)"
            onChange={(e) => set((c) => ({ ...c, attack: { ...c.attack, limit: Math.max(0, Math.floor(Number(e.target.value) || 0)) } }))} />
          <span className="muted small"> 0 = all</span>
        </label>
      </fieldset>
      <label>seed{' '}
        <input type="number" min={0} value={config.seed} className="narrow" aria-label="seed"
          onChange={(e) => set((c) => ({ ...c, seed: Math.max(0, Math.floor(Number(e.target.value) || 0)) }))} />
      </label>
      <div className="run-row">
        <button type="button" className="primary" data-testid="run-button" disabled={running || !engineReady} onClick={() => void client.run()}>
          {hasView ? 'Run again' : 'Run'}
        </button>
        {running && <button type="button" onClick={() => client.cancel()} disabled={status === 'cancelling'}>Cancel</button>}
        {stale && <span className="stale" data-testid="stale-marker">results are stale: settings changed since the run</span>}
      </div>
    </section>
  );
}
