// "Refine and serve" for one user: the personal assistant's phases 2 and 3 as one composition.
//
// Input:  { "usr": "u1", "readings": [ {glucose, glucose_15m, ...}, ... ] }
//         (readings: what the device wants scored now, keyed by glucose.FEATURES)
// Output: { "usr", "refined": {accuracy_before, accuracy_after, model}, "prediction": {...} }
//
// Why a let: refine only needs `usr` (its readings are the artifact `{usr}/glucose`, consumed
// on the device), and its result replaces the composition's params; `usr` and the readings to
// score are kept in the let's variables so predict gets the same user, and therefore the model
// refine just produced (`{usr}/glucose-model`). The small inline functions run inside the
// conductor action; refine and predict are the deployed example actions
// (actions/examples/personal_assistant), placed by their own policies.
const composer = require('openwhisk-composer')

module.exports = composer.let(
  { usr: null, readings: null, refined: null },
  args => {
    usr = args.usr
    readings = args.readings
    return { usr }
  },
  'refine',
  result => {
    refined = {
      accuracy_before: result.accuracy_before,
      accuracy_after: result.accuracy_after,
      model: result['glucose-model']
    }
    return { usr, readings }
  },
  'predict',
  prediction => ({ usr, refined, prediction })
)
