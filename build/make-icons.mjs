#!/usr/bin/env node
// Renders build/icon.svg into the PNG icons electron-builder uses: build/icon.png (1024 px, from
// which it makes the macOS .icns and the Windows .ico) and build/icons/<size>x<size>.png (Linux).
// Run after editing the SVG: node build/make-icons.mjs
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const here = import.meta.dirname;
const svg = join(here, 'icon.svg');

await sharp(svg, { density: 144 }).resize(1024, 1024).png().toFile(join(here, 'icon.png'));
await mkdir(join(here, 'icons'), { recursive: true });
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  await sharp(svg, { density: 144 }).resize(size, size).png().toFile(join(here, 'icons', `${size}x${size}.png`));
}
console.log('icons written to', here);
