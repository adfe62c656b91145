// Pipeline 2 of the paper's Figure 1, "an extended pipeline with custom steps":
// prepare -> features (feature engineering) -> a hyper-parameter sweep (Composer `map`: one
// `train` per configuration, in parallel) -> the best by validation accuracy -> validate (the
// validator gate) -> push (preload to the devices) -> serve.
//
// Input:  { "dataset": "d2", "shape": "rings", "samples": 2000, "seed": 0, "label_noise": 0,
//           "configs": [{"lr": 0.5, "epochs": 200, "l2": 0}, ...], "rows": [[x0, x1], ...],
//           "devices": {"role": "edge"} }
// Output: { dataset, features, sweep: [{trial, config, val_accuracy}, ...], best: trial,
//           promoted: true, model: {key, version, status}, accuracy,
//           pushed: [{invoker, status, reason}, ...], served: [p, ...] }
//         or the error of a sweep where no configuration trained, or of the gate (promote.js)
//
// features derives the data set `<dataset>-poly` (degree-2 features); every later step works on
// it as on any data set. The sweep's branches are the conductor's own invocations, joined in
// Redis (the controller's --composer-redis): Composer's map, unmodified. Which configuration wins
// is decided here, by the metric each train reports (val_accuracy, never the test set, which
// validate keeps for the gate).
const composer = require('openwhisk-composer')
const promote = require('./promote')

// Inline functions run inside the conductor, compiled from their source text: they see the let's
// variables, never this file's constants, so the default sweep is the let's initial `configs`.
module.exports = composer.let(
  {
    dataset: null,
    derived: null,
    configs: [ // the default sweep: learning rates and regularisation
      { lr: 0.05, epochs: 100, l2: 0 },
      { lr: 0.5, epochs: 200, l2: 0 },
      { lr: 0.5, epochs: 200, l2: 0.1 },
      { lr: 2, epochs: 300, l2: 0 }
    ],
    rows: null,
    devices: null,
    sweep: null,
    best: null
  },
  args => {
    dataset = args.dataset ?? null // a let variable cannot hold undefined
    derived = dataset === null ? null : `${dataset}-poly`
    configs = args.configs || configs
    rows = args.rows || []
    devices = args.devices || { role: 'edge' }
    return { dataset, shape: args.shape || 'rings', samples: args.samples, seed: args.seed, label_noise: args.label_noise }
  },
  'prepare',
  () => ({ dataset, features: derived }),
  'features',
  () => ({ value: configs.map((config, i) => Object.assign({}, config, { dataset: derived, trial: String(i) })) }),
  composer.map('train'),
  swept => {
    sweep = swept.value.map(t => (t.error ? { error: t.error } : { trial: t.trial, config: t.config, val_accuracy: t.val_accuracy }))
    const trained = sweep.filter(t => typeof t.val_accuracy === 'number')
    if (trained.length === 0) return { error: `no configuration of the sweep trained: ${JSON.stringify(sweep)}` }
    best = trained.reduce((a, b) => (b.val_accuracy > a.val_accuracy ? b : a)).trial
    return { dataset: derived, trial: best, devices, serving: { dataset: derived, features: 2, rows, transform: 'poly' } }
  },
  promote(),
  promoted => Object.assign({ dataset, features: derived, sweep, best }, promoted)
)
