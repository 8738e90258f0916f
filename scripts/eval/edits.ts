// The edited copies the evaluation makes of each chosen original, with sharp. Every edit starts from
// the original as displayed (EXIF orientation applied), so a copy looks like its original unless the
// edit itself turns it. Crop and bar sizes are drawn per original (seeded). "mild" edits are everyday ones (must be found, target recall ≥ 0.98), "strong"
// ones are harder (target ≥ 0.90). Rotations and mirrors count only when rotation invariance is on.
import { copyFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';

export type EditLevel = 'mild' | 'strong';

/** Edits that turn the picture: grouped only with rotation invariance on. */
export type EditFamily = 'plain' | 'rotation';

export interface EditSpec {
  name: string;
  level: EditLevel;
  family: EditFamily;
  /** Report row: edits of one kind share it (e.g. all three format changes). */
  kind: string;
  extension: 'jpg' | 'png' | 'webp' | 'avif';
  /** Writes the copy of `source` (of the given displayed size) with this original's seeded parameters. */
  make(source: string, target: string, size: Size, params: EditParams): Promise<unknown>;
}

interface Size {
  width: number;
  height: number;
}

/**
 * Amounts drawn per original from the seeded generator, so that crops and bars do not line up with
 * the engine's fixed crop windows and views by construction.
 */
export interface EditParams {
  /** Fraction of each side's length a crop removes: mild 4–12 %, strong 20–30 %. */
  cropMild: number;
  cropStrong: number;
  offCropMild: number;
  offCropStrong: number;
  /** The corner (0..3) an off-centre crop keeps. */
  corner: number;
  /** Each bar as a fraction of the short side: mild 3–8 %, strong 15–25 %. */
  barMild: number;
  barStrong: number;
}

export function drawEditParams(random: () => number): EditParams {
  const between = (low: number, high: number) => low + (high - low) * random();
  return {
    cropMild: between(0.04, 0.12),
    cropStrong: between(0.2, 0.3),
    offCropMild: between(0.04, 0.12),
    offCropStrong: between(0.2, 0.3),
    corner: Math.floor(random() * 4),
    barMild: between(0.03, 0.08),
    barStrong: between(0.15, 0.25),
  };
}

const JPEG_QUALITY = 92; // the re-encoding every pixel edit needs; high, so it does not add an edit of its own

function oriented(source: string): Sharp {
  return sharp(source).rotate();
}

function jpeg(image: Sharp, target: string): Promise<unknown> {
  return image.jpeg({ quality: JPEG_QUALITY }).toFile(target);
}

/** Crops `cut` of each side's length off the borders: centred, or keeping one corner. */
function crop(source: string, target: string, size: Size, cut: number, corner: number | null): Promise<unknown> {
  const width = Math.round(size.width * (1 - cut));
  const height = Math.round(size.height * (1 - cut));
  let left = Math.floor((size.width - width) / 2);
  let top = Math.floor((size.height - height) / 2);
  if (corner !== null) {
    left = corner & 1 ? size.width - width : 0;
    top = corner & 2 ? size.height - height : 0;
  }
  return jpeg(oriented(source).extract({ left, top, width, height }), target);
}

/** Contrast around mid-grey: out = a·in + 128·(1 − a). */
function contrast(source: string, target: string, a: number): Promise<unknown> {
  return jpeg(oriented(source).linear(a, 128 * (1 - a)), target);
}

function watermark(source: string, target: string, size: Size, strong: boolean): Promise<unknown> {
  const { width, height } = size;
  const fontSize = Math.max(10, Math.round(height * (strong ? 0.14 : 0.04)));
  const text = strong ? 'SAMPLE © PHOTO' : '© 2024 photo-dedup';
  const svg = strong
    ? `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><text x="50%" y="55%" text-anchor="middle" font-family="sans-serif" font-weight="bold" font-size="${fontSize}" fill="white" fill-opacity="0.6" stroke="black" stroke-opacity="0.4">${text}</text></svg>`
    : `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><text x="${width - fontSize / 2}" y="${height - fontSize / 2}" text-anchor="end" font-family="sans-serif" font-size="${fontSize}" fill="white" fill-opacity="0.8">${text}</text></svg>`;
  return jpeg(oriented(source).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]), target);
}

/** Bars on the short sides (top/bottom for landscape), each `fraction` of that side's length. */
function letterbox(source: string, target: string, size: Size, fraction: number): Promise<unknown> {
  const landscape = size.width >= size.height;
  const bar = Math.round((landscape ? size.height : size.width) * fraction);
  const sides = landscape ? { top: bar, bottom: bar, left: 0, right: 0 } : { top: 0, bottom: 0, left: bar, right: bar };
  return jpeg(oriented(source).extend({ ...sides, background: '#000000' }), target);
}

export const EDITS: EditSpec[] = [
  { name: 'copy', level: 'mild', family: 'plain', kind: 'byte copy', extension: 'jpg', make: (s, t) => copyFile(s, t) },
  { name: 'half', level: 'mild', family: 'plain', kind: 'resize', extension: 'jpg', make: (s, t, z) => jpeg(oriented(s).resize({ width: Math.max(1, Math.round(z.width / 2)) }), t) },
  { name: 'thumb160', level: 'strong', family: 'plain', kind: 'resize', extension: 'jpg', make: (s, t) => oriented(s).resize(160, 160, { fit: 'inside' }).jpeg({ quality: 75 }).toFile(t) },
  { name: 'q70', level: 'mild', family: 'plain', kind: 'JPEG re-compression', extension: 'jpg', make: (s, t) => oriented(s).jpeg({ quality: 70 }).toFile(t) },
  { name: 'q30', level: 'strong', family: 'plain', kind: 'JPEG re-compression', extension: 'jpg', make: (s, t) => oriented(s).jpeg({ quality: 30 }).toFile(t) },
  { name: 'png', level: 'mild', family: 'plain', kind: 'format change', extension: 'png', make: (s, t) => oriented(s).png().toFile(t) },
  { name: 'webp', level: 'mild', family: 'plain', kind: 'format change', extension: 'webp', make: (s, t) => oriented(s).webp({ quality: 75 }).toFile(t) },
  { name: 'avif', level: 'mild', family: 'plain', kind: 'format change', extension: 'avif', make: (s, t) => oriented(s).avif({ quality: 50, effort: 2 }).toFile(t) },
  { name: 'crop-mild', level: 'mild', family: 'plain', kind: 'crop, centred', extension: 'jpg', make: (s, t, z, p) => crop(s, t, z, p.cropMild, null) },
  { name: 'crop-strong', level: 'strong', family: 'plain', kind: 'crop, centred', extension: 'jpg', make: (s, t, z, p) => crop(s, t, z, p.cropStrong, null) },
  { name: 'offcrop-mild', level: 'mild', family: 'plain', kind: 'crop, off-centre', extension: 'jpg', make: (s, t, z, p) => crop(s, t, z, p.offCropMild, p.corner) },
  { name: 'offcrop-strong', level: 'strong', family: 'plain', kind: 'crop, off-centre', extension: 'jpg', make: (s, t, z, p) => crop(s, t, z, p.offCropStrong, p.corner) },
  { name: 'bright115', level: 'mild', family: 'plain', kind: 'brightness', extension: 'jpg', make: (s, t) => jpeg(oriented(s).modulate({ brightness: 1.15 }), t) },
  { name: 'dark60', level: 'strong', family: 'plain', kind: 'brightness', extension: 'jpg', make: (s, t) => jpeg(oriented(s).modulate({ brightness: 0.6 }), t) },
  { name: 'contrast120', level: 'mild', family: 'plain', kind: 'contrast', extension: 'jpg', make: (s, t) => contrast(s, t, 1.2) },
  { name: 'contrast160', level: 'strong', family: 'plain', kind: 'contrast', extension: 'jpg', make: (s, t) => contrast(s, t, 1.6) },
  { name: 'sat130', level: 'mild', family: 'plain', kind: 'saturation', extension: 'jpg', make: (s, t) => jpeg(oriented(s).modulate({ saturation: 1.3 }), t) },
  { name: 'sat200', level: 'strong', family: 'plain', kind: 'saturation', extension: 'jpg', make: (s, t) => jpeg(oriented(s).modulate({ saturation: 2 }), t) },
  { name: 'grey', level: 'mild', family: 'plain', kind: 'greyscale', extension: 'jpg', make: (s, t) => jpeg(oriented(s).greyscale(), t) },
  { name: 'mark-small', level: 'mild', family: 'plain', kind: 'watermark', extension: 'jpg', make: (s, t, z) => watermark(s, t, z, false) },
  { name: 'mark-large', level: 'strong', family: 'plain', kind: 'watermark', extension: 'jpg', make: (s, t, z) => watermark(s, t, z, true) },
  { name: 'letterbox-mild', level: 'mild', family: 'plain', kind: 'letterbox', extension: 'jpg', make: (s, t, z, p) => letterbox(s, t, z, p.barMild) },
  { name: 'letterbox-strong', level: 'strong', family: 'plain', kind: 'letterbox', extension: 'jpg', make: (s, t, z, p) => letterbox(s, t, z, p.barStrong) },
  { name: 'rot90', level: 'strong', family: 'rotation', kind: 'rotation in the pixels', extension: 'jpg', make: (s, t) => jpeg(oriented(s).rotate(90), t) },
  { name: 'rot180', level: 'strong', family: 'rotation', kind: 'rotation in the pixels', extension: 'jpg', make: (s, t) => jpeg(oriented(s).rotate(180), t) },
  { name: 'rot270', level: 'strong', family: 'rotation', kind: 'rotation in the pixels', extension: 'jpg', make: (s, t) => jpeg(oriented(s).rotate(270), t) },
  // The pixels stay as displayed; only the EXIF tag turns them (6: 90° clockwise, 3: 180°).
  { name: 'exif6', level: 'strong', family: 'rotation', kind: 'rotation by EXIF tag only', extension: 'jpg', make: (s, t) => oriented(s).withMetadata({ orientation: 6 }).jpeg({ quality: JPEG_QUALITY }).toFile(t) },
  { name: 'exif3', level: 'strong', family: 'rotation', kind: 'rotation by EXIF tag only', extension: 'jpg', make: (s, t) => oriented(s).withMetadata({ orientation: 3 }).jpeg({ quality: JPEG_QUALITY }).toFile(t) },
  { name: 'mirror', level: 'strong', family: 'rotation', kind: 'mirror', extension: 'jpg', make: (s, t) => jpeg(oriented(s).flop(), t) },
];
