// Worker-thread side of the HEIC decoder (see decode-heic.ts): runs libheif compiled to WebAssembly
// (npm `libheif-js`) on one file and hands back the primary image as 8-bit RGBA.
// libheif applies the HEIF transformations (clap crop, irot rotation, imir mirror) while decoding,
// so the pixels returned here are already the way the image is meant to be shown.
import { createRequire } from 'node:module';
import { move, transferableSymbol, valueSymbol } from 'piscina';

/** The part of libheif-js' embind API this worker uses (the package ships no types for it). */
interface HeifError {
  code: unknown;
  subcode: unknown;
  message: string;
}
interface HeifChannel {
  id: unknown;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface HeifDecodedImage {
  image: unknown;
  width: number;
  height: number;
  channels: HeifChannel[];
}
interface LibHeif {
  heif_error_code: Record<string, unknown>;
  heif_suberror_code: Record<string, unknown>;
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGBA: unknown };
  heif_channel: { heif_channel_interleaved: unknown };
  heif_context_alloc(): unknown;
  heif_context_free(context: unknown): void;
  heif_context_read_from_memory(context: unknown, data: Uint8Array): HeifError;
  heif_context_get_number_of_top_level_images(context: unknown): number;
  heif_js_context_get_primary_image_handle(context: unknown): unknown;
  heif_image_handle_get_width(handle: unknown): number;
  heif_image_handle_get_height(handle: unknown): number;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(handle: unknown, colorspace: unknown, chroma: unknown): HeifDecodedImage | HeifError | null;
  heif_image_release(image: unknown): void;
}

// The `wasm-bundle` build carries the .wasm inline, so nothing is read relative to the working
// directory (libheif-js' plain `wasm` entry reads './libheif-wasm/libheif.wasm' from process.cwd()).
// Calling the factory instantiates the module synchronously.
const require = createRequire(import.meta.url);
const createLibHeif = require('libheif-js/libheif-wasm/libheif-bundle.js') as () => LibHeif;
let libheif: LibHeif = createLibHeif();

/** A problem libheif found in the file; anything else is a problem of the decoder itself. */
class HeifFileError extends Error {}

export interface HeicWorkerTask {
  data: Uint8Array;
  /** Refuse images with more pixels than this before decoding them (decompression bombs). */
  maxPixels: number;
}

export interface HeicWorkerResult {
  pixels: Uint8Array; // RGBA, width*height*4 bytes, no row padding
  width: number;
  height: number;
  imageCount: number;
}

function isError(value: unknown): value is HeifError {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}

/** Turns a libheif error into a message that says what happened to the file. */
function describe(error: HeifError): string {
  const codes = libheif.heif_error_code;
  const detail = error.message.trim();
  if (error.subcode === libheif.heif_suberror_code.heif_suberror_No_ftyp_box) return `not a HEIF file: ${detail}`;
  switch (error.code) {
    case codes.heif_error_Invalid_input:
    case codes.heif_error_Decoder_plugin_error:
      return `HEIC file is truncated or corrupt: ${detail}`;
    case codes.heif_error_Unsupported_filetype:
      return `not a HEIF file: ${detail}`;
    case codes.heif_error_Unsupported_feature:
    case codes.heif_error_Plugin_loading_error:
      // e.g. an AVIF (AV1) or VVC-coded file: this build of libheif only has the HEVC decoder.
      return `HEIF file uses a feature or codec this decoder does not support: ${detail}`;
    case codes.heif_error_Memory_allocation_error:
      return `HEIC image is too large to decode: ${detail}`;
    default:
      return `HEIC decoding failed: ${detail}`;
  }
}

export default function decodeHeicInWorker(task: HeicWorkerTask): HeicWorkerResult {
  try {
    return decodeOnce(task);
  } catch (error) {
    if (error instanceof HeifFileError) throw error;
    // An Emscripten abort or a failed WebAssembly memory growth can leave the module unusable:
    // start a fresh instance for the next file instead of failing every file after this one.
    libheif = createLibHeif();
    throw new Error(`HEIC decoding failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

function decodeOnce(task: HeicWorkerTask): HeicWorkerResult {
  const context = libheif.heif_context_alloc();
  let handle: unknown = null;
  let decoded: HeifDecodedImage | null = null;
  try {
    const readError = libheif.heif_context_read_from_memory(context, task.data);
    if (readError.code !== libheif.heif_error_code.heif_error_Ok) throw new HeifFileError(describe(readError));

    // The primary item, never "the first image": bursts keep several top-level images, and
    // thumbnails, alpha planes, depth maps and gain maps are auxiliary items of the primary.
    const primary = libheif.heif_js_context_get_primary_image_handle(context);
    if (isError(primary)) throw new HeifFileError(describe(primary));
    handle = primary;

    const width = libheif.heif_image_handle_get_width(handle);
    const height = libheif.heif_image_handle_get_height(handle);
    if (width * height > task.maxPixels) {
      throw new HeifFileError(`HEIC image too large: ${width}×${height} pixels is over the limit of ${task.maxPixels} pixels`);
    }

    const output = libheif.heif_js_decode_image2(handle, libheif.heif_colorspace.heif_colorspace_RGB, libheif.heif_chroma.heif_chroma_interleaved_RGBA);
    if (output === null) throw new HeifFileError('HEIC file is truncated or corrupt: the decoder returned no image');
    if (isError(output)) throw new HeifFileError(describe(output));
    decoded = output;

    const plane = decoded.channels.find((channel) => channel.id === libheif.heif_channel.heif_channel_interleaved);
    if (!plane) throw new HeifFileError('HEIC decoding failed: no interleaved RGBA plane in the decoded image');
    // Copy out of the WebAssembly heap (plane.data is a view on it) and drop any row padding.
    const rowBytes = plane.width * 4;
    const pixels = new Uint8Array(rowBytes * plane.height);
    if (plane.stride === rowBytes) {
      pixels.set(plane.data.subarray(0, pixels.length));
    } else {
      for (let y = 0; y < plane.height; y++) pixels.set(plane.data.subarray(y * plane.stride, y * plane.stride + rowBytes), y * rowBytes);
    }
    const imageCount = libheif.heif_context_get_number_of_top_level_images(context);
    const result: HeicWorkerResult = { pixels, width: plane.width, height: plane.height, imageCount };
    // Hand the pixel buffer over to the main thread instead of copying it (tens of MB for 12 MP).
    return move({ [transferableSymbol]: [pixels.buffer], [valueSymbol]: result }) as unknown as HeicWorkerResult;
  } finally {
    if (decoded) libheif.heif_image_release(decoded.image);
    if (handle) libheif.heif_image_handle_release(handle);
    libheif.heif_context_free(context);
  }
}
