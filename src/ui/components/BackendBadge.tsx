/** Which backend computes, on which adapter and why; a switch to force another (restarts the engine). */
import type { BackendName } from '../../core/config';
import { useLab, useLabClient } from '../hooks/useLab';

const CHOICES: (BackendName | 'auto')[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

export function BackendBadge() {
  const client = useLabClient();
  const engine = useLab((s) => s.engine);
  const requested = useLab((s) => s.config.backend);
  const busy = useLab((s) => s.status !== 'idle');
  const info = engine.info;
  const label = engine.status === 'ready' && info ? info.name.toUpperCase() : engine.status === 'starting' ? 'starting…' : 'no engine';
  return (
    <div className="backend">
      <span className={`badge badge-${engine.status}`} data-testid="backend-badge" title={info?.reason ?? engine.error ?? ''}>
        {label}
      </span>
      {info?.adapter && <span className="muted" data-testid="backend-adapter">{info.adapter}</span>}
      {info && !info.crossOriginIsolated && <span className="muted"> · not cross-origin isolated (WASM single-threaded)</span>}
      <label className="backend-choice">
        backend{' '}
        <select
          value={requested}
          disabled={busy}
          aria-label="Backend"
          onChange={(e) => client.setConfig((c) => ({ ...c, backend: e.target.value as BackendName | 'auto' }))}
        >
          {CHOICES.map((b) => <option key={b} value={b}>{b}</option>)}
        </select>
      </label>
      {info?.reason && info.reason !== 'requested' && <div className="muted small">{info.reason}</div>}
      {engine.error && <div className="error small" role="alert">{engine.error}</div>}
    </div>
  );
}
