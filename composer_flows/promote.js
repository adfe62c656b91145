// The end every training pipeline shares: validate a candidate, stop at the validator gate, or
// serve the promoted model: preload it to the devices a selector picks, then serve it on an edge
// device. A composition fragment, used by training.js and extended.js (require('./promote')), so
// the gate's handling is written once.
//
// Input:  { "dataset": "d1", "trial": "0", "devices": {"role": "edge"},
//           "serving": { "dataset": "d1", "features": 2, "rows": [[...]], "transform": null } }
// Output: { promoted: true, model: {key, version, status}, accuracy,
//           pushed: [{invoker, status, reason}, ...], served: [p, ...] }
//         or the error "<key> held back by validate's gate (accuracy A on the test set):
//         not promoted, not served"
//
// validate produces the candidate as the next version of {dataset}/model; its gate
// (accuracy < 0.8 fires) is the platform's, which registers a failing version `gated` and says
// so in the artifact reference of validate's result: the flow stops on that status and never
// restates the rule. A version no gate held back is the current one (what a bound ref
// resolves to); push preloads it to the devices `devices` picks (the preload API's selector)
// and serve consumes {dataset}/model on an edge device, which holds it already.
const composer = require('openwhisk-composer')

module.exports = () => composer.let(
  { serving: null, devices: null, model: null, accuracy: null, pushed: null },
  args => {
    serving = args.serving
    devices = args.devices
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
      () => ({ name: model.name, version: model.version, devices }),
      'push',
      preloaded => {
        pushed = preloaded.devices
        return serving
      },
      'serve',
      served => ({
        promoted: true,
        model: { key: model.key, version: model.version, status: model.status },
        accuracy,
        pushed,
        served: served.served
      })))
)
