// The grey images behind the perceptual hashes are libvips' greyscale of the decoded RGB image,
// resized. libvips converts each pixel through linear light (sRGB to scRGB, luminance, the sRGB curve
// again): about 2 ms for the 448×448 image, and it was done twice a photo, once for each grey image.
// The conversion depends on the pixel alone, so it is kept as a table of every 24-bit colour
// (16 MiB), made once per process by libvips itself: the grey values are that libvips' own, exactly,
// whatever its version, and a photo costs one table look-up a pixel.
import sharp from 'sharp';

/** 4096 × 4096 pixels: every 24-bit colour once, colour c at pixel c. */
const SIDE = 4096;

let table: Promise<Uint8Array> | null = null;

/** libvips' grey value of every colour (at r << 16 | g << 8 | b), made on first use. */
function greyTable(): Promise<Uint8Array> {
  table ??= (async () => {
    const colours = Buffer.allocUnsafe(SIDE * SIDE * 3);
    for (let c = 0, at = 0; c < SIDE * SIDE; c++, at += 3) {
      colours[at] = c >>> 16;
      colours[at + 1] = (c >>> 8) & 0xff;
      colours[at + 2] = c & 0xff;
    }
    const grey = await sharp(colours, { raw: { width: SIDE, height: SIDE, channels: 3 }, limitInputPixels: false }).greyscale().raw().toBuffer();
    if (grey.length !== SIDE * SIDE) throw new Error(`libvips' greyscale gave ${grey.length} bytes for ${SIDE * SIDE} pixels`);
    return new Uint8Array(grey.buffer, grey.byteOffset, grey.length);
  })();
  table.catch(() => (table = null)); // tried again next time
  return table;
}

/** The greyscale of an RGB image (3 bytes a pixel), one byte a pixel: what sharp's greyscale() gives for it. */
export async function greyscale(rgb: Uint8Array): Promise<Buffer> {
  const lut = await greyTable();
  const pixels = Math.floor(rgb.length / 3);
  const grey = Buffer.allocUnsafe(pixels);
  for (let i = 0, at = 0; i < pixels; i++, at += 3) grey[i] = lut[(rgb[at] << 16) | (rgb[at + 1] << 8) | rgb[at + 2]];
  return grey;
}
