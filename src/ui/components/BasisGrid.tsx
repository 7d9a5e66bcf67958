/** Every NNMF basis image (column of W) with its selection statistics; selected ones outlined. */
import type { LabView } from '../../core/pipeline/view';
import type { ComponentStats } from '../../core/types';
import { ChartCard } from './ChartCard';
import { GrayImage } from './GrayImage';
import { fmt, fmtP } from './format';
import './components.css';

export interface BasisGridProps {
  view: LabView;
  /** CSS pixels per image pixel (default: about 112 px across). */
  scale?: number;
}

export function BasisGrid({ view, scale }: BasisGridProps) {
  const { basis, report } = view;
  const stats = new Map<number, ComponentStats>(report.selection.components.map((c) => [c.index, c]));
  const selected = new Set(report.selection.selected);
  const indices = Array.from({ length: basis.count }, (_, k) => k);
  const multiClass = view.classNames.length > 2;
  const nSel = indices.filter((k) => selected.has(k) || stats.get(k)?.selected).length;

  return (
    <div className="lab-section" data-testid="basis-grid">
      <ChartCard
        title={`NNMF basis W: ${basis.count} components`}
        subtitle={
          <>
            {report.nmf.objective === 'kl' ? 'Generalized KL divergence' : 'Frobenius'} · each image scaled to its own maximum ·{' '}
            <span className="badge selected">selected</span> {nSel} of {basis.count} kept for the classifier (statistics on the training split
            {multiClass ? '; one-vs-rest averages' : ''})
          </>
        }
        exportable={false}
      >
        <div className="basis-grid" role="list" aria-label="NNMF basis components">
          {indices.map((k) => {
            const s = stats.get(k);
            const isSel = selected.has(k) || !!s?.selected;
            return (
              <div key={k} role="listitem" className={isSel ? 'basis-tile selected' : 'basis-tile'} aria-label={`component ${k}${isSel ? ', selected' : ''}`}>
                <GrayImage images={basis} index={k} scale={scale} testId="basis-image" label={`component ${k}`} />
                <div>
                  {isSel ? <span className="badge selected">selected</span> : <span className="badge">not selected</span>}
                </div>
                {s ? (
                  <dl className="stats">
                    <dt>rank</dt>
                    <dd>{s.rank}</dd>
                    <dt>AUC</dt>
                    <dd>{fmt(s.auc)}</dd>
                    <dt>Cohen's d</dt>
                    <dd>{fmt(s.cohensD)}</dd>
                    <dt>{multiClass ? 'Welch p (mean)' : 'Welch p'}</dt>
                    <dd>{fmtP(s.pValue)}</dd>
                    {s.anovaP !== undefined && (
                      <>
                        <dt>ANOVA p</dt>
                        <dd>{fmtP(s.anovaP)}</dd>
                      </>
                    )}
                  </dl>
                ) : (
                  <span className="muted small">no statistics</span>
                )}
              </div>
            );
          })}
        </div>
      </ChartCard>
    </div>
  );
}
