// The precision/recall plot: an SVG written here, rendered to PNG by sharp (librsvg).
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';

export interface Curve {
  label: string;
  colour: string;
  /** (recall, precision) points, in sweep order. */
  points: { recall: number; precision: number }[];
  dashed?: boolean;
}

export interface Marker {
  label: string;
  colour: string;
  recall: number;
  precision: number;
  shape: 'circle' | 'square' | 'diamond';
}

const PANEL = { width: 420, height: 420 };
const MARGIN = { left: 80, top: 50, gap: 90, bottom: 70, legend: 300 };
const WIDTH = MARGIN.left + 2 * PANEL.width + MARGIN.gap + MARGIN.legend;
const HEIGHT = MARGIN.top + PANEL.height + MARGIN.bottom;

type Range = { recall: [number, number]; precision: [number, number] };

/** Two panels: the whole range on the left, a zoom on the top-right corner (where the engine is) on the right. */
export async function writePlot(path: string, title: string, curves: Curve[], markers: Marker[], full: Range, zoom: Range): Promise<void> {
  const parts: string[] = [`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`];
  parts.push(`<text x="${MARGIN.left}" y="30" font-size="17" font-family="DejaVu Sans, sans-serif" font-weight="bold">${escape(title)}</text>`);
  panel(parts, MARGIN.left, full, curves, markers, 'all');
  panel(parts, MARGIN.left + PANEL.width + MARGIN.gap, zoom, curves, markers, 'zoom');
  // Legend.
  let ly = MARGIN.top + 10;
  const lx = MARGIN.left + 2 * PANEL.width + MARGIN.gap + 20;
  for (const curve of curves) {
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${curve.colour}" stroke-width="3"${curve.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 36}" y="${ly + 4}" font-size="12" font-family="DejaVu Sans, sans-serif">${escape(curve.label)}</text>`);
    ly += 22;
  }
  for (const m of markers) {
    parts.push(shape(m, lx + 14, ly));
    parts.push(`<text x="${lx + 36}" y="${ly + 4}" font-size="12" font-family="DejaVu Sans, sans-serif">${escape(m.label)}</text>`);
    ly += 22;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${parts.join('')}</svg>`;
  await writeFile(path, await sharp(Buffer.from(svg)).png().toBuffer());
}

function panel(parts: string[], left: number, range: Range, curves: Curve[], markers: Marker[], id: string): void {
  const top = MARGIN.top;
  const { width, height } = PANEL;
  const x = (recall: number) => left + ((recall - range.recall[0]) / (range.recall[1] - range.recall[0])) * width;
  const y = (precision: number) => top + height - ((precision - range.precision[0]) / (range.precision[1] - range.precision[0])) * height;
  // Enough decimals that every precision tick reads differently (the zoomed panel steps by 0.0005).
  const precisionDecimals = (range.precision[1] - range.precision[0]) / 10 < 0.001 ? 4 : 3;
  for (let i = 0; i <= 10; i++) {
    const r = range.recall[0] + ((range.recall[1] - range.recall[0]) * i) / 10;
    const p = range.precision[0] + ((range.precision[1] - range.precision[0]) * i) / 10;
    parts.push(`<line x1="${x(r)}" y1="${top}" x2="${x(r)}" y2="${top + height}" stroke="#e4e4e4"/>`);
    parts.push(`<line x1="${left}" y1="${y(p)}" x2="${left + width}" y2="${y(p)}" stroke="#e4e4e4"/>`);
    if (i % 2 === 0) parts.push(`<text x="${x(r)}" y="${top + height + 20}" font-size="12" text-anchor="middle" font-family="DejaVu Sans, sans-serif">${r.toFixed(2)}</text>`);
    parts.push(`<text x="${left - 8}" y="${y(p) + 4}" font-size="12" text-anchor="end" font-family="DejaVu Sans, sans-serif">${p.toFixed(precisionDecimals)}</text>`);
  }
  parts.push(`<text x="${left + width / 2}" y="${HEIGHT - 22}" font-size="14" text-anchor="middle" font-family="DejaVu Sans, sans-serif">recall (pairs)</text>`);
  parts.push(`<text x="${left - 62}" y="${top + height / 2}" font-size="14" text-anchor="middle" font-family="DejaVu Sans, sans-serif" transform="rotate(-90 ${left - 62} ${top + height / 2})">precision (pairs)</text>`);
  // Curves and markers are clipped to the panel: the zoom shows only what falls inside it.
  parts.push(`<clipPath id="clip-${id}"><rect x="${left}" y="${top}" width="${width}" height="${height}"/></clipPath><g clip-path="url(#clip-${id})">`);
  for (const curve of curves) {
    const d = curve.points.map((pt) => `${x(pt.recall).toFixed(1)},${y(pt.precision).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${curve.colour}" stroke-width="2"${curve.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
  }
  for (const m of markers) parts.push(shape(m, x(m.recall), y(m.precision)));
  parts.push('</g>');
  parts.push(`<rect x="${left}" y="${top}" width="${width}" height="${height}" fill="none" stroke="#333"/>`);
}

function shape(m: Marker, cx: number, cy: number): string {
  if (m.shape === 'circle') return `<circle cx="${cx}" cy="${cy}" r="7" fill="${m.colour}" stroke="black"/>`;
  if (m.shape === 'square') return `<rect x="${cx - 6}" y="${cy - 6}" width="12" height="12" fill="${m.colour}" stroke="black"/>`;
  return `<polygon points="${cx},${cy - 8} ${cx + 8},${cy} ${cx},${cy + 8} ${cx - 8},${cy}" fill="${m.colour}" stroke="black"/>`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
