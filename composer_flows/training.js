// Pipeline 1 of the paper's Figure 1, "a simple model-training flow":
// prepare -> train -> validate (the validator gate) -> push (preload) -> serve.
//
// Input:  { "dataset": "d1", "shape": "blobs", "samples": 2000, "seed": 0, "label_noise": 0,
//           "config": {"lr": 0.5, "epochs": 200, "l2": 0}, "rows": [[x0, x1], ...],
//           "devices": {"role": "edge"} }
// Output: { dataset, promoted: true, model: {key, version, status}, accuracy,
//           pushed: [{invoker, status, reason}, ...], served: [p, ...] }
//         or, when validate's gate held the model back, the error
//         "<key> held back by validate's gate (accuracy A on the test set): not promoted, not served"
//
// Every step is a deployed edgewhisk action (actions/examples/pipelines), placed by its own
// policy: prepare, train and validate in the cloud, push preferably there, serve on an edge
// device; devices (the preload selector, default every edge device) get the promoted model
// before serve asks for it. The steps hand each
// other artifacts by name ({dataset}/train, {dataset}/candidate-{trial}, {dataset}/model), never
// bytes: the flow passes only the names and numbers each step needs. promote.js is the end it
// shares with extended.js: validate, then stop at the gate or push and serve.
const composer = require('openwhisk-composer')
const promote = require('./promote')

module.exports = composer.let(
  { dataset: null, config: null, rows: null, devices: null },
  args => {
    dataset = args.dataset ?? null // a let variable cannot hold undefined
    config = args.config || {}
    rows = args.rows || []
    devices = args.devices || { role: 'edge' }
    return { dataset, shape: args.shape, samples: args.samples, seed: args.seed, label_noise: args.label_noise }
  },
  'prepare',
  () => Object.assign({ dataset, trial: '0' }, config),
  'train',
  () => ({ dataset, trial: '0', devices, serving: { dataset, features: 2, rows } }),
  promote(),
  promoted => Object.assign({ dataset }, promoted)
)
