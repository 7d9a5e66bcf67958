/**
 * A titled card with a "PNG" button that exports the card's first chart (a recharts <svg>, else a
 * <canvas>) as a PNG download. Nothing leaves the machine: the file is made in the page.
 */
import { useId, useRef, useState, type ReactNode } from 'react';
import { slug } from './format';
import './components.css';

/** Saves a blob as a file through an object URL and a temporary <a download>. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function canvasToBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'));
}

/** The card's first chart graphic: an <svg> outside legends/tooltips (whose icons are svgs too), else a <canvas>. */
export function findChartGraphic(root: ParentNode): SVGSVGElement | HTMLCanvasElement | null {
  const svgs = Array.from(root.querySelectorAll('svg')).filter(
    (s) => !s.closest('.recharts-legend-wrapper, .recharts-tooltip-wrapper, button') && (s.getBoundingClientRect().width > 40 || s.classList.contains('recharts-surface')),
  );
  if (svgs.length > 0) return svgs[0];
  return root.querySelector('canvas');
}

/** Serializes an <svg> (with a white background) and rasterizes it at `pixelRatio`. */
export async function svgToPngBlob(svg: SVGSVGElement, pixelRatio = 2): Promise<Blob> {
  const box = svg.getBoundingClientRect();
  const width = Math.max(1, Math.round(box.width || Number(svg.getAttribute('width')) || 600));
  const height = Math.max(1, Math.round(box.height || Number(svg.getAttribute('height')) || 300));
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('xmlns:xlink', 'http://www.w3.org/1999/xlink');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  if (!clone.getAttribute('viewBox')) clone.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const font = getComputedStyle(svg).fontFamily || 'system-ui, sans-serif';
  clone.setAttribute('style', `font-family: ${font}; font-size: 12px; background: #fff`);
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('x', '0');
  bg.setAttribute('y', '0');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', '#ffffff');
  clone.insertBefore(bg, clone.firstChild);
  const text = new XMLSerializer().serializeToString(clone);
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml;charset=utf-8' }));
  try {
    const img = new Image();
    img.decoding = 'async';
    await new Promise<void>((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error('the chart could not be rasterized'));
      img.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(width * pixelRatio);
    canvas.height = Math.round(height * pixelRatio);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2-D canvas context');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await canvasToBlob(canvas);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** PNG of a <canvas>, upscaled without smoothing so small images stay crisp. */
export async function canvasToPngBlob(source: HTMLCanvasElement, minSide = 256): Promise<Blob> {
  const k = Math.max(1, Math.ceil(minSide / Math.max(1, Math.min(source.width, source.height))));
  if (k === 1) return canvasToBlob(source);
  const canvas = document.createElement('canvas');
  canvas.width = source.width * k;
  canvas.height = source.height * k;
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvasToBlob(source);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvasToBlob(canvas);
}

export interface ChartCardProps {
  title: string;
  subtitle?: ReactNode;
  testId?: string;
  children: ReactNode;
  /** Show the PNG button (default true; off for cards that hold only tables). */
  exportable?: boolean;
  /** Extra class names for the card. */
  className?: string;
  /** Controls placed in the header, left of the PNG button. */
  actions?: ReactNode;
}

export function ChartCard({ title, subtitle, testId, children, exportable = true, className, actions }: ChartCardProps) {
  const id = useId();
  const body = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<string | null>(null);

  const exportPng = async () => {
    const root = body.current;
    if (!root) return;
    const graphic = findChartGraphic(root);
    if (!graphic) {
      setStatus('nothing to export in this card');
      return;
    }
    try {
      const blob = graphic instanceof HTMLCanvasElement ? await canvasToPngBlob(graphic) : await svgToPngBlob(graphic);
      downloadBlob(blob, `${slug(title)}.png`);
      setStatus(null);
    } catch (err) {
      setStatus(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section className={className ? `card ${className}` : 'card'} data-testid={testId} aria-labelledby={`${id}-title`}>
      <header className="card-header">
        <div className="card-titles">
          <h3 id={`${id}-title`} className="card-title">{title}</h3>
          {subtitle && <div className="card-subtitle">{subtitle}</div>}
        </div>
        <div className="card-actions">
          {actions}
          {exportable && (
            <button type="button" className="btn btn-small" onClick={() => void exportPng()} aria-label={`Download “${title}” as PNG`} title="Download as PNG">
              PNG
            </button>
          )}
        </div>
      </header>
      {status && <p className="card-status" role="status">{status}</p>}
      <div className="card-body" ref={body}>{children}</div>
    </section>
  );
}
