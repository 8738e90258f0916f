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

const WIDTH = 900;
const HEIGHT = 620;
const MARGIN = { left: 80, right: 290, top: 50, bottom: 70 };

export async function writePlot(path: string, title: string, curves: Curve[], markers: Marker[], range: { recall: [number, number]; precision: [number, number] }): Promise<void> {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const clamp = (v: number, [lo, hi]: [number, number]) => Math.min(hi, Math.max(lo, v));
  const x = (recall: number) => MARGIN.left + ((clamp(recall, range.recall) - range.recall[0]) / (range.recall[1] - range.recall[0])) * plotW;
  const y = (precision: number) => MARGIN.top + plotH - ((clamp(precision, range.precision) - range.precision[0]) / (range.precision[1] - range.precision[0])) * plotH;
  const parts: string[] = [];
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${MARGIN.left}" y="30" font-size="17" font-family="DejaVu Sans, sans-serif" font-weight="bold">${escape(title)}</text>`);
  // Grid and ticks.
  for (let i = 0; i <= 10; i++) {
    const r = range.recall[0] + ((range.recall[1] - range.recall[0]) * i) / 10;
    const p = range.precision[0] + ((range.precision[1] - range.precision[0]) * i) / 10;
    parts.push(`<line x1="${x(r)}" y1="${MARGIN.top}" x2="${x(r)}" y2="${MARGIN.top + plotH}" stroke="#e4e4e4"/>`);
    parts.push(`<line x1="${MARGIN.left}" y1="${y(p)}" x2="${MARGIN.left + plotW}" y2="${y(p)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${x(r)}" y="${MARGIN.top + plotH + 20}" font-size="12" text-anchor="middle" font-family="DejaVu Sans, sans-serif">${r.toFixed(2)}</text>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${y(p) + 4}" font-size="12" text-anchor="end" font-family="DejaVu Sans, sans-serif">${p.toFixed(3)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 22}" font-size="14" text-anchor="middle" font-family="DejaVu Sans, sans-serif">recall (pairs)</text>`);
  parts.push(`<text x="22" y="${MARGIN.top + plotH / 2}" font-size="14" text-anchor="middle" font-family="DejaVu Sans, sans-serif" transform="rotate(-90 22 ${MARGIN.top + plotH / 2})">precision (pairs)</text>`);
  for (const curve of curves) {
    const d = curve.points.map((pt) => `${x(pt.recall).toFixed(1)},${y(pt.precision).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${d}" fill="none" stroke="${curve.colour}" stroke-width="2"${curve.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
  }
  for (const m of markers) {
    const cx = x(m.recall);
    const cy = y(m.precision);
    if (m.shape === 'circle') parts.push(`<circle cx="${cx}" cy="${cy}" r="7" fill="${m.colour}" stroke="black"/>`);
    else if (m.shape === 'square') parts.push(`<rect x="${cx - 6}" y="${cy - 6}" width="12" height="12" fill="${m.colour}" stroke="black"/>`);
    else parts.push(`<polygon points="${cx},${cy - 8} ${cx + 8},${cy} ${cx},${cy + 8} ${cx - 8},${cy}" fill="${m.colour}" stroke="black"/>`);
  }
  // Legend.
  let ly = MARGIN.top + 10;
  const lx = WIDTH - MARGIN.right + 20;
  for (const curve of curves) {
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${curve.colour}" stroke-width="3"${curve.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 36}" y="${ly + 4}" font-size="12" font-family="DejaVu Sans, sans-serif">${escape(curve.label)}</text>`);
    ly += 22;
  }
  for (const m of markers) {
    parts.push(`<circle cx="${lx + 14}" cy="${ly}" r="6" fill="${m.colour}" stroke="black"/>`);
    parts.push(`<text x="${lx + 36}" y="${ly + 4}" font-size="12" font-family="DejaVu Sans, sans-serif">${escape(m.label)}</text>`);
    ly += 22;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${parts.join('')}</svg>`;
  await writeFile(path, await sharp(Buffer.from(svg)).png().toBuffer());
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
