// The model loader: manifest and hash checks with clear messages, provider fallback, and another
// ONNX embedding model used through its manifest alone.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openEngine } from '../electron/engine/index.ts';
import { DEFAULT_MODEL_DIR, EmbeddingModel, loadManifest } from '../electron/engine/model.ts';
import { REPO_ROOT, removeDir, tempDir } from './helpers/photos.ts';

const require = createRequire(import.meta.url);

/** A real (if simple) embedding model: 64×64 NCHW input in [0, 1] → 8×8 average-pooled colours (192 values). */
function tinyModel(): Buffer {
  const { GraphBuilder } = require(join(REPO_ROOT, 'scripts', 'model', 'onnxpb.cjs'));
  const g = new GraphBuilder();
  g.input('image', ['N', 3, 64, 64]);
  const pooled = g.node('AveragePool', ['image'], { kernel_shape: [8, 8], strides: [8, 8] });
  g.node('Flatten', [pooled], { axis: 1 }, 'features');
  g.output('features', ['N', 192]);
  return g.toBuffer({ graphName: 'tiny' });
}

describe('model loading', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('dedup-model-');
  });
  after(async () => {
    await removeDir(dir);
  });

  async function copyOfShippedModel(name: string): Promise<string> {
    const target = join(dir, name);
    await mkdir(target, { recursive: true });
    const manifest = await loadManifest(DEFAULT_MODEL_DIR);
    await copyFile(join(DEFAULT_MODEL_DIR, 'manifest.json'), join(target, 'manifest.json'));
    await copyFile(join(DEFAULT_MODEL_DIR, manifest.file), join(target, manifest.file));
    return target;
  }

  test('the shipped model matches its manifest and loads on CPU', async () => {
    const model = await EmbeddingModel.open({ provider: 'cpu' });
    assert.equal(model.dimension, 1792);
    assert.equal(model.provider.active, 'cpu');
    const [vector] = await model.embed([new Float32Array(224 * 224 * 3).fill(128)]);
    assert.equal(vector.length, 1792);
    await model.release();
  });

  test('a damaged model file is refused with a message naming the file', async () => {
    const modelDir = await copyOfShippedModel('damaged');
    const manifest = await loadManifest(modelDir);
    const path = join(modelDir, manifest.file);
    const bytes = await readFile(path);
    bytes[bytes.length - 100] ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(EmbeddingModel.open({ modelDir, provider: 'cpu' }), (error: Error) => {
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /sha256/);
      assert.match(error.message, /npm run build:model/);
      return true;
    });
  });

  test('a missing model file and an invalid manifest are explained', async () => {
    const missing = join(dir, 'missing');
    await mkdir(missing, { recursive: true });
    await copyFile(join(DEFAULT_MODEL_DIR, 'manifest.json'), join(missing, 'manifest.json'));
    await assert.rejects(EmbeddingModel.open({ modelDir: missing }), /model file .*mobilenet_v2_140_224\.onnx cannot be read/);

    const invalid = join(dir, 'invalid');
    await mkdir(invalid, { recursive: true });
    const manifest = JSON.parse(await readFile(join(DEFAULT_MODEL_DIR, 'manifest.json'), 'utf8'));
    delete manifest.output;
    await writeFile(join(invalid, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(EmbeddingModel.open({ modelDir: invalid }), /manifest .*invalid: output/);
  });

  test('execution providers are tried in order and fall back to CPU with the reason', async () => {
    const model = await EmbeddingModel.open({ provider: 'auto' });
    const info = model.provider;
    assert.deepEqual(info.attempts.map((a) => a.provider), ['tensorrt', 'cuda', 'webgpu', 'cpu'].slice(0, info.attempts.length));
    assert.equal(info.attempts.at(-1)!.provider, info.active);
    for (const attempt of info.attempts.slice(0, -1)) {
      assert.equal(attempt.ok, false);
      assert.ok(attempt.reason && attempt.reason.length > 0, `${attempt.provider} failed without a reason`);
    }
    await model.release();
    const asked = await EmbeddingModel.open({ provider: 'webgpu' });
    assert.ok(asked.provider.active === 'webgpu' || (asked.provider.active === 'cpu' && asked.provider.attempts[0].ok === false));
    await asked.release();
  });

  test('another ONNX embedding model works through its manifest, without code changes', async () => {
    const modelDir = join(dir, 'tiny');
    await mkdir(modelDir, { recursive: true });
    const bytes = tinyModel();
    await writeFile(join(modelDir, 'tiny.onnx'), bytes);
    const manifest = {
      manifestVersion: 1,
      name: 'tiny-colour-grid',
      file: 'tiny.onnx',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      source: 'built by tests/model.test.ts',
      licence: 'MIT',
      input: { name: 'image', dtype: 'float32', layout: 'NCHW', width: 64, height: 64, channels: 'RGB', valueRange: [0, 1], resize: 'fill' },
      output: { name: 'features', dimension: 192 },
    };
    await writeFile(join(modelDir, 'manifest.json'), JSON.stringify(manifest));
    const engine = await openEngine({ catalogPath: join(dir, 'tiny-catalog', 'catalog.json'), modelDir, settings: { executionProvider: 'cpu' } });
    try {
      const summary = await engine.scan([join(REPO_ROOT, 'samples', 'photos')]);
      assert.deepEqual(summary.errors, []);
      assert.ok(summary.added > 0);
      const { groups } = await engine.groups();
      // A colour-grid "model" finds many photos alike; the byte copies must still share a group.
      assert.ok(groups.some((g) => g.kind !== 'similar' && g.files.filter((f) => f.path.endsWith('coffee.png')).length === 2));
      const hits = await engine.query(join(REPO_ROOT, 'samples', 'photos', 'rocket.jpg'), { top: 1 });
      assert.match(hits[0].path, /rocket\.jpg$/);
      assert.equal((await engine.providerInfo()).active, 'cpu');
    } finally {
      await engine.close();
    }
  });
});
