// Runs an ONNX model with onnxruntime-node and writes every output as raw float32.
// usage: node run_onnx.js MODEL.onnx INPUT.json OUTDIR
//   INPUT.json: {"input name": {"dims": [...], "file": "x.f32"}} (file relative to INPUT.json)
//   OUTDIR/index.json: {"output name": {"file": "t0.f32", "dims": [...]}}
// ORT_NODE may name the onnxruntime-node module directory when it is not resolvable.
const ort = require(process.env.ORT_NODE || 'onnxruntime-node');
const fs = require('fs');
const path = require('path');

(async () => {
  const [model, inputJson, outDir] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(inputJson));
  const feeds = {};
  for (const [name, v] of Object.entries(spec)) {
    const buf = fs.readFileSync(path.join(path.dirname(inputJson), v.file));
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    feeds[name] = new ort.Tensor('float32', data, v.dims);
  }
  const session = await ort.InferenceSession.create(model);
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  const index = {};
  Object.entries(results).forEach(([name, t], i) => {
    const file = `t${i}.f32`;
    fs.writeFileSync(path.join(outDir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    index[name] = { file, dims: t.dims, type: t.type };
  });
  fs.writeFileSync(path.join(outDir, 'index.json'), JSON.stringify(index));
})().catch((e) => { console.error(e); process.exit(1); });
