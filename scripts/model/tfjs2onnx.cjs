// Convert nsfwjs-bundled tfjs models (layers or graph format, uint8-quantized weights in base64 JS modules)
// into an ONNX feature extractor. Usage: node tfjs2onnx.js <mobilenet_v2|mobilenet_v2_mid|inception_v3> out.onnx
'use strict';
const fs = require('fs');
const path = require('path');
const { GraphBuilder } = require('./onnxpb.cjs');

const modelName = process.argv[2];
const outFile = process.argv[3];
// Optional third argument: the folder where nsfwjs is installed (node_modules parent); default: normal resolution.
const nsfwjsMain = process.argv[4] ? require.resolve('nsfwjs', { paths: [process.argv[4]] }) : require.resolve('nsfwjs');
const dir = path.join(path.dirname(nsfwjsMain), '..', 'models', modelName);
const mj = require(path.join(dir, 'model.min.js'));

// ---- weights ----
function loadWeights(mj) {
  const out = {};
  for (const group of mj.weightsManifest) {
    const bufs = group.paths.map(p => Buffer.from(require(path.join(dir, p + '.min.js')), 'base64'));
    const data = Buffer.concat(bufs);
    let off = 0;
    for (const spec of group.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const f = new Float32Array(n);
      const q = spec.quantization;
      if (q && q.dtype === 'uint8') {
        for (let i = 0; i < n; i++) f[i] = q.min + q.scale * data[off + i];
        off += n;
      } else if (q && q.dtype === 'uint16') {
        for (let i = 0; i < n; i++) f[i] = q.min + q.scale * data.readUInt16LE(off + 2 * i);
        off += 2 * n;
      } else if (!q && spec.dtype === 'float32') {
        for (let i = 0; i < n; i++) f[i] = data.readFloatLE(off + 4 * i);
        off += 4 * n;
      } else throw new Error('unsupported weight ' + JSON.stringify(spec));
      out[spec.name] = { shape: spec.shape, data: f };
    }
    if (off !== data.length) throw new Error(`weight bytes mismatch ${off} vs ${data.length}`);
  }
  return out;
}
const weights = loadWeights(mj);

// HWIO -> OIHW
function convKernel(w) {
  const [kh, kw, ci, co] = w.shape; const o = new Float32Array(w.data.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let c = 0; c < co; c++)
    o[((c * ci + i) * kh + h) * kw + x] = w.data[((h * kw + x) * ci + i) * co + c];
  return { shape: [co, ci, kh, kw], data: o };
}
// depthwise [kh,kw,C,M] -> [C*M,1,kh,kw]
function dwKernel(w) {
  const [kh, kw, C, M] = w.shape; const o = new Float32Array(w.data.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let c = 0; c < C; c++) for (let m = 0; m < M; m++)
    o[((c * M + m) * kh + h) * kw + x] = w.data[((h * kw + x) * C + c) * M + m];
  return { shape: [C * M, 1, kh, kw], data: o };
}

const g = new GraphBuilder();
let size, embedDim;

// common prologue: input NHWC float32 RGB 0..255 -> NCHW 0..1
function prologue(sz) {
  g.input('pixels', ['N', sz, sz, 3]);
  const t = g.node('Transpose', ['pixels'], { perm: [0, 3, 1, 2] });
  if (process.env.PM1) { g.init('s2', [], [2 / 255]); g.init('one', [], [1]); return g.node('Sub', [g.node('Mul', [t, 's2']), 'one']); }
  g.init('inv255', [], [1 / 255]);
  return g.node('Mul', [t, 'inv255']);
}

if (mj.modelTopology.model_config) {
  // ---------- Keras layers model ----------
  const layers = mj.modelTopology.model_config.config.layers;
  size = layers[0].config.batch_input_shape[1];
  const stopAt = { mobilenet_v2: 'flatten_1', inception_v3: 'flatten_1' }[modelName];
  const T = {};
  T[layers[0].name] = prologue(size);
  for (const L of layers.slice(1)) {
    const c = L.config;
    const ins = L.inbound_nodes[0].map(x => T[x[0]]);
    let y;
    const pads = (k, s, p) => (p === 'same' ? { auto_pad: 'SAME_UPPER' } : {});
    switch (L.class_name) {
      case 'ZeroPadding2D': {
        const [[t, b], [l, r]] = c.padding;
        const p = g.initI64(L.name + '_pads', [8], [0, 0, t, l, 0, 0, b, r]);
        y = g.node('Pad', [ins[0], p]); break;
      }
      case 'Conv2D': {
        const k = convKernel(weights[L.name + '/kernel']);
        const kin = [ins[0], g.init(L.name + '_W', k.shape, k.data)];
        if (c.use_bias) { const b = weights[L.name + '/bias']; kin.push(g.init(L.name + '_B', b.shape, b.data)); }
        y = g.node('Conv', kin, { kernel_shape: c.kernel_size, strides: c.strides, dilations: c.dilation_rate, ...pads(c.kernel_size, c.strides, c.padding) });
        if (c.activation === 'relu') y = g.node('Relu', [y]); else if (c.activation !== 'linear') throw new Error('act ' + c.activation);
        break;
      }
      case 'DepthwiseConv2D': {
        const k = dwKernel(weights[L.name + '/depthwise_kernel']);
        const kin = [ins[0], g.init(L.name + '_W', k.shape, k.data)];
        if (c.use_bias) { const b = weights[L.name + '/bias']; kin.push(g.init(L.name + '_B', b.shape, b.data)); }
        const C = weights[L.name + '/depthwise_kernel'].shape[2];
        y = g.node('Conv', kin, { kernel_shape: c.kernel_size, strides: c.strides, dilations: c.dilation_rate, group: C, ...pads(c.kernel_size, c.strides, c.padding) });
        if (c.activation !== 'linear') throw new Error('act ' + c.activation);
        break;
      }
      case 'BatchNormalization': {
        const beta = weights[L.name + '/beta'], mean = weights[L.name + '/moving_mean'], vr = weights[L.name + '/moving_variance'];
        const n = mean.shape[0];
        const gamma = c.scale ? weights[L.name + '/gamma'].data : new Float32Array(n).fill(1);
        const bdata = c.center ? beta.data : new Float32Array(n);
        y = g.node('BatchNormalization', [ins[0], g.init(L.name + '_s', [n], gamma), g.init(L.name + '_b', [n], bdata),
          g.init(L.name + '_m', [n], mean.data), g.init(L.name + '_v', [n], vr.data)], { epsilon: { float: c.epsilon } });
        break;
      }
      case 'ReLU': {
        if (c.max_value != null) {
          g.init(L.name + '_lo', [], [0]); g.init(L.name + '_hi', [], [c.max_value]);
          y = g.node('Clip', [ins[0], L.name + '_lo', L.name + '_hi']);
        } else y = g.node('Relu', [ins[0]]);
        break;
      }
      case 'Activation': if (c.activation !== 'relu') throw new Error(c.activation); y = g.node('Relu', [ins[0]]); break;
      case 'Add': y = g.node('Sum', ins); break;
      case 'Concatenate': if (c.axis !== 3 && c.axis !== -1) throw new Error('axis'); y = g.node('Concat', ins, { axis: 1 }); break;
      case 'MaxPooling2D': y = g.node('MaxPool', ins, { kernel_shape: c.pool_size, strides: c.strides, ...pads(0, 0, c.padding) }); break;
      case 'AveragePooling2D': y = g.node('AveragePool', ins, { kernel_shape: c.pool_size, strides: c.strides, count_include_pad: 0, ...pads(0, 0, c.padding) }); break;
      case 'Flatten': y = g.node('Flatten', ins, { axis: 1 }, 'embedding'); break;
      default: throw new Error('unsupported layer ' + L.class_name);
    }
    T[L.name] = y;
    if (L.name === stopAt) break;
  }
  embedDim = { mobilenet_v2: 1280, inception_v3: 2048 }[modelName];
} else {
  // ---------- TF graph model (tfjs converter output) ----------
  const nodes = mj.modelTopology.node;
  const byName = Object.fromEntries(nodes.map(n => [n.name, n]));
  const s = v => Buffer.from(v, 'base64').toString();
  const ints = a => a.list.i.map(Number);
  size = 224;
  const T = {};
  const visit = (name) => {
    name = name.split(':')[0];
    if (T[name] !== undefined) return T[name];
    const n = byName[name];
    const ins = (n.input || []).filter(i => !i.startsWith('^'));
    let y;
    switch (n.op) {
      case 'Placeholder': y = prologue(224); break;
      case 'Const': { const w = weights[n.name]; y = { const: w }; break; }
      case 'Mul': case 'Sub': case 'AddV2': {
        const a = ins.map(visit).map((v, k) => (v.const ? g.init(`${n.name}_c${k}`, v.const.shape, v.const.data) : v));
        y = g.node({ Mul: 'Mul', Sub: 'Sub', AddV2: 'Add' }[n.op], a); break;
      }
      case '_FusedConv2D': case 'FusedDepthwiseConv2dNative': {
        const x = visit(ins[0]); const w = visit(ins[1]).const; const b = visit(ins[2]).const;
        const dw = n.op === 'FusedDepthwiseConv2dNative';
        const k = dw ? dwKernel(w) : convKernel(w);
        const st = ints(n.attr.strides), dl = ints(n.attr.dilations);
        if (s(n.attr.data_format.s) !== 'NHWC') throw new Error('fmt');
        const pad = s(n.attr.padding.s);
        const attrs = { kernel_shape: [w.shape[0], w.shape[1]], strides: [st[1], st[2]], dilations: [dl[1], dl[2]] };
        if (pad === 'SAME') attrs.auto_pad = 'SAME_UPPER'; else if (pad !== 'VALID') throw new Error(pad);
        if (dw) attrs.group = w.shape[2];
        const fused = n.attr.fused_ops.list.s.map(s);
        if (fused[0] !== 'BiasAdd') throw new Error(fused);
        y = g.node('Conv', [x, g.init(n.name + '_W', k.shape, k.data), g.init(n.name + '_B', b.shape, b.data)], attrs);
        if (fused[1] === 'Relu6') { g.init(n.name + '_lo', [], [0]); g.init(n.name + '_hi', [], [6]); y = g.node('Clip', [y, n.name + '_lo', n.name + '_hi']); }
        else if (fused[1] === 'Relu') y = g.node('Relu', [y]);
        else if (fused.length > 1) throw new Error(fused);
        break;
      }
      case 'AvgPool': {
        const k = ints(n.attr.ksize), st = ints(n.attr.strides);
        y = g.node('AveragePool', [visit(ins[0])], { kernel_shape: [k[1], k[2]], strides: [st[1], st[2]] }); break;
      }
      case 'Squeeze': y = g.node('Flatten', [visit(ins[0])], { axis: 1 }, 'embedding'); break;
      default: throw new Error('unsupported op ' + n.op);
    }
    T[name] = y;
    return y;
  };
  const sq = nodes.find(n => n.op === 'Squeeze');
  visit(sq.name);
  embedDim = weights[nodes.find(n => n.op === '_FusedMatMul').input[1]].shape[0];
}
g.output('embedding', ['N', embedDim]);
g.metadata = { source: `npm nsfwjs ${JSON.parse(fs.readFileSync(path.join(path.dirname(nsfwjsMain), '..', '..', 'package.json'))).version} dist/models/${modelName}`, input: `pixels: float32 [N,${size},${size},3] RGB 0..255 (NHWC)`, output: `embedding: float32 [N,${embedDim}]` };
fs.writeFileSync(outFile, g.toBuffer({ graphName: modelName }));
console.log(`wrote ${outFile} size=${size} dim=${embedDim} bytes=${fs.statSync(outFile).size}`);
