// Pipeline 1 of the paper's Figure 1, "a simple model-training flow":
// prepare -> train -> validate (the validator gate) -> serve.
//
// Input:  { "dataset": "d1", "shape": "blobs", "samples": 2000, "seed": 0, "label_noise": 0,
//           "config": {"lr": 0.5, "epochs": 200, "l2": 0}, "rows": [[x0, x1], ...] }
// Output: { dataset, promoted: true, model: {key, version, status}, accuracy, served: [p, ...] }
//         or, when validate's gate held the model back, the error
//         "<key> held back by validate's gate (accuracy A on the test set): not promoted, not served"
//
// Every step is a deployed edgewhisk action (actions/examples/pipelines), placed by its own
// policy: prepare, train and validate in the cloud, serve on an edge device. The steps hand each
// other artifacts by name ({dataset}/train, {dataset}/candidate-{trial}, {dataset}/model), never
// bytes: the flow passes only the names and numbers each step needs. The gate is the platform's:
// validate's result says the version's status, and the flow stops on `gated` without restating
// the gate's rule.
const composer = require('openwhisk-composer')

module.exports = composer.let(
  { dataset: null, trial: '0', config: null, rows: null, features: 2, model: null, accuracy: null },
  args => {
    dataset = args.dataset ?? null // a let variable cannot hold undefined
    config = args.config || {}
    rows = args.rows || []
    return { dataset, shape: args.shape, samples: args.samples, seed: args.seed, label_noise: args.label_noise }
  },
  'prepare',
  () => Object.assign({ dataset, trial }, config),
  'train',
  () => ({ dataset, trial }),
  'validate',
  validated => {
    model = validated.model.artifact
    accuracy = validated.accuracy
    return { dataset, features, rows, status: model.status }
  },
  composer.if(
    gated => gated.status === 'gated',
    () => ({ error: `${model.key} held back by validate's gate (accuracy ${accuracy} on the test set): not promoted, not served` }),
    composer.sequence(
      'serve',
      served => ({
        dataset,
        promoted: true,
        model: { key: model.key, version: model.version, status: model.status },
        accuracy,
        served: served.served
      })))
)
