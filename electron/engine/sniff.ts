// Recognises image formats by their first bytes, not by the file name: a PNG named .jpg is a PNG,
// and a text file named .jpg is "not an image".

export type SniffedFormat =
  | 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heic' | 'bmp' | 'jxl' | 'ico' | 'psd' | 'svg' | 'cr3';

/** Bytes needed to recognise every format below. */
export const SNIFF_BYTES = 64;

const RAW_EXTENSIONS = new Set(['.dng', '.cr2', '.nef', '.arw', '.orf', '.rw2', '.raf', '.pef', '.srw', '.nrw', '.3fr', '.erf', '.kdc', '.mrw', '.rwl', '.iiq', '.x3f']);

/** File extensions worth opening at all during a walk (content decides the format afterwards). */
export const CANDIDATE_EXTENSIONS = new Set([
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.hif',
  '.bmp', '.jxl', '.cr3', ...RAW_EXTENSIONS,
]);


function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

export function sniffFormat(bytes: Uint8Array): SniffedFormat | null {
  if (bytes.length < 4) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes[0] === 0x89 && ascii(bytes, 1, 3) === 'PNG') return 'png';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 4) === 'GIF8') return 'gif';
  if ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a)) return 'tiff';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  if ((bytes[0] === 0xff && bytes[1] === 0x0a) || ascii(bytes, 4, 4) === 'JXL ') return 'jxl';
  if (ascii(bytes, 0, 4) === '8BPS') return 'psd';
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0) return 'ico';
  if (ascii(bytes, 4, 4) === 'ftyp') {
    // ISO base media file: the major brand (and compatible brands) say which kind.
    const brands = ascii(bytes, 8, Math.min(bytes.length, 48) - 8);
    if (/avif|avis/.test(brands)) return 'avif';
    if (/heic|heix|hevc|hevx|heim|heis|mif1|msf1/.test(brands)) return 'heic';
    if (/crx /.test(brands)) return 'cr3';
    return null;
  }
  const head = ascii(bytes, 0, Math.min(bytes.length, SNIFF_BYTES)).trimStart();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'svg';
  return null;
}
