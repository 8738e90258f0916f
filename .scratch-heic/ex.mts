import { readFileSync } from 'node:fs';
import exifr from 'exifr';
const d = readFileSync('/tmp/hx/r.heic');
console.log(await exifr.parse(d).catch(e => 'ERR ' + e.message));
console.log(await exifr.parse(d, { pick: ['Orientation', 'DateTimeOriginal'] }).catch(e => 'ERR ' + e.message));
console.log(await exifr.parse(d, { translateValues: false, reviveValues: false }).then(x => x && { o: x.Orientation, d: x.DateTimeOriginal }).catch(e => 'ERR ' + e.message));
console.log(await exifr.parse(d, { ifd0: true, exif: true, pick: ['Orientation', 'DateTimeOriginal', 'CreateDate'], translateValues: false, reviveValues: false }).catch(e => 'ERR ' + e.message));
