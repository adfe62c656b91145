// The end every training pipeline shares: validate a candidate, stop at the validator gate, or
// serve the promoted model on an edge device. A composition fragment, used by training.js and
// extended.js (require('./promote')), so the gate's handling is written once.
//
// Input:  { "dataset": "d1", "trial": "0",
//           "serving": { "dataset": "d1", "features": 2, "rows": [[...]], "transform": null } }
// Output: { promoted: true, model: {key, version, status}, accuracy, served: [p, ...] }
//         or the error "<key> held back by validate's gate (accuracy A on the test set):
//         not promoted, not served"
//
// validate produces the candidate as the next version of {dataset}/model; its gate
// (accuracy < 0.8 fires) is the platform's, which registers a failing version `gated` and says
// so in the artifact reference of validate's result: the flow stops on that status and never
// restates the rule. serve consumes {dataset}/model, the latest version no gate held back.
const composer = require('openwhisk-composer')

module.exports = () => composer.let(
  { serving: null, model: null, accuracy: null },
  args => {
    serving = args.serving
    return { dataset: args.dataset, trial: args.trial }
  },
  'validate',
  validated => {
    model = validated.model.artifact
    accuracy = validated.accuracy
    return { status: model.status }
  },
  composer.if(
    checked => checked.status === 'gated',
    () => ({ error: `${model.key} held back by validate's gate (accuracy ${accuracy} on the test set): not promoted, not served` }),
    composer.sequence(
      () => serving,
      'serve',
      served => ({
        promoted: true,
        model: { key: model.key, version: model.version, status: model.status },
        accuracy,
        served: served.served
      })))
)
